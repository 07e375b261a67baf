"""The endpoint's state: AWS-shaped objects in memory, written through to SQLite.

Objects are the dicts the API returns (``IpamPoolId``, ``State`` ...), plus private keys that
start with ``_`` (the serializer only writes members of the output shape, so these never leak).
Every request runs under one lock and in one SQLite transaction, which makes the endpoint safe
under concurrent requests and its state durable across restarts. Processes that share a state
file (a web server's workers, a management command beside them) take turns, and each reads
again what another has written, so none answers from a stale state.

Each kind's objects are kept in creation order (``_seq``) and indexed by what the operations
ask about (:data:`INDEXES`: a pool's CIDRs and allocations, a pool's children, a scope's live
pools, a Region's objects), so that a question costs the objects that answer it, not a scan
of every object. An object's index keys are read again whenever it is added or touched (every
change to an object is followed by ``touch``, which is also what writes it to SQLite), and
every index is rebuilt when the state is read again from SQLite.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from awsipam.choices import DELETED_STATES

KINDS = ("ipam", "scope", "pool", "cidr", "allocation")

Obj = dict[str, Any]
Key = Callable[[Obj], Any]  # the value an object is found under in an index; None: not in it


def _member(name: str) -> Key:
    return lambda obj: obj.get(name)


def _live_scope(obj: Obj) -> str | None:
    return None if obj["State"] in DELETED_STATES else obj["_scope"]


def _top_of_scope(obj: Obj) -> str | None:
    return None if "SourceIpamPoolId" in obj else obj["_scope"]


INDEXES: dict[str, dict[str, Key]] = {
    "ipam": {"region": _member("IpamRegion")},
    "scope": {"region": _member("IpamRegion"), "ipam": _member("_ipam")},
    "pool": {
        "region": _member("IpamRegion"),
        "ipam_arn": _member("IpamArn"),
        "source": _member("SourceIpamPoolId"),
        "top_of_scope": _top_of_scope,  # pools without a source pool, by scope
        "live_in_scope": _live_scope,  # pools not deleted, by scope
    },
    "cidr": {"pool": _member("_pool")},
    "allocation": {"pool": _member("_pool")},
}

IndexKey = tuple[str, str, Any]  # (kind, index name, value)


class _Bucket:
    """The ids of the objects under one index value, in creation order, with their ``_seq``."""

    __slots__ = ("ids", "seqs")

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.seqs: list[int] = []

    def insert(self, seq: int, obj_id: str) -> None:
        if not self.seqs or seq > self.seqs[-1]:  # the usual case: the newest object
            self.seqs.append(seq)
            self.ids.append(obj_id)
        else:
            at = bisect_left(self.seqs, seq)
            self.seqs.insert(at, seq)
            self.ids.insert(at, obj_id)

    def discard(self, seq: int) -> None:
        at = bisect_left(self.seqs, seq)
        if at < len(self.seqs) and self.seqs[at] == seq:
            del self.seqs[at]
            del self.ids[at]

    def after(self, seq: int) -> list[str]:
        return self.ids[bisect_right(self.seqs, seq) :] if seq else self.ids


_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (id TEXT PRIMARY KEY, kind TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (key TEXT PRIMARY KEY, data TEXT NOT NULL);
"""


class Store:
    def __init__(self, path: str | None = None) -> None:
        self.objects: dict[str, dict[str, Obj]] = {kind: {} for kind in KINDS}
        self._index: dict[IndexKey, _Bucket] = {}
        self._placed: dict[str, tuple[int, frozenset[IndexKey]]] = {}  # id -> (seq, keys)
        self.tokens: dict[str, dict[str, Any]] = {}
        self._seq = 0
        self._due: list[tuple[float, int, str, str]] = []  # (when, seq, kind, id)
        self._dirty: dict[str, str] = {}  # id -> kind
        self._removed: set[str] = set()
        self._dirty_tokens: set[str] = set()
        self._db = sqlite3.connect(
            path or ":memory:", check_same_thread=False, isolation_level=None, timeout=30
        )
        self._db.executescript(_SCHEMA)
        self._version = self._data_version()
        self._load()

    # --- objects ----------------------------------------------------------------------------

    def add(self, kind: str, obj_id: str, obj: Obj) -> Obj:
        """Add ``obj`` as the newest object of its kind (one added again moves to the end)."""
        self._seq += 1
        obj["_seq"] = self._seq
        self._unindex(obj_id)
        self.objects[kind].pop(obj_id, None)  # a dict keeps insertion order: creation order
        self.objects[kind][obj_id] = obj
        self._removed.discard(obj_id)
        self.touch(kind, obj_id)
        return obj

    def get(self, kind: str, obj_id: str) -> Obj | None:
        return self.objects[kind].get(obj_id)

    def all(self, kind: str) -> Iterator[Obj]:
        return iter(self.objects[kind].values())

    def select(self, kind: str, index: str, value: Any, *, after: int = 0) -> list[Obj]:
        """The objects of ``kind`` under ``value`` in its index ``index`` (:data:`INDEXES`),
        in creation order; with ``after``, only those whose ``_seq`` is greater."""
        if index not in INDEXES[kind]:
            raise KeyError(f"no index {index!r} of {kind} objects")
        bucket = self._index.get((kind, index, value))
        if bucket is None:
            return []
        objects = self.objects[kind]
        return [objects[obj_id] for obj_id in bucket.after(after)]

    def count(self, kind: str, index: str, value: Any) -> int:
        if index not in INDEXES[kind]:
            raise KeyError(f"no index {index!r} of {kind} objects")
        bucket = self._index.get((kind, index, value))
        return len(bucket.ids) if bucket else 0

    def touch(self, kind: str, obj_id: str) -> None:
        """Note that the object changed: it is indexed again, and written at the request's end."""
        self._dirty[obj_id] = kind
        obj = self.objects[kind][obj_id]
        self._reindex(kind, obj_id, obj)
        if "_due" in obj:
            heapq.heappush(self._due, (obj["_due"], obj["_seq"], kind, obj_id))

    def remove(self, kind: str, obj_id: str) -> None:
        self._unindex(obj_id)
        self.objects[kind].pop(obj_id, None)
        self._dirty.pop(obj_id, None)
        self._removed.add(obj_id)

    def _reindex(self, kind: str, obj_id: str, obj: Obj) -> None:
        seq = obj["_seq"]
        keys = frozenset(
            (kind, name, value)
            for name, key in INDEXES[kind].items()
            if (value := key(obj)) is not None
        )
        old_keys = self._placed.get(obj_id, (seq, frozenset()))[1]
        if keys == old_keys:
            return
        for key in old_keys - keys:
            self._discard(key, seq)
        for key in keys - old_keys:
            bucket = self._index.get(key)
            if bucket is None:
                bucket = self._index[key] = _Bucket()
            bucket.insert(seq, obj_id)
        self._placed[obj_id] = (seq, keys)

    def _unindex(self, obj_id: str) -> None:
        seq, keys = self._placed.pop(obj_id, (0, frozenset()))
        for key in keys:
            self._discard(key, seq)

    def _discard(self, key: IndexKey, seq: int) -> None:
        bucket = self._index[key]
        bucket.discard(seq)
        if not bucket.ids:
            del self._index[key]

    def due(self, now: float) -> Iterator[tuple[str, dict[str, Any]]]:
        """Objects whose scheduled change (``_due``) has come, oldest first, each once.

        An object touched twice with the same ``_due`` has two entries in the heap.
        """
        seen: set[str] = set()
        while self._due and self._due[0][0] <= now:
            when, _, kind, obj_id = heapq.heappop(self._due)
            obj = self.objects[kind].get(obj_id)
            if obj is not None and obj.get("_due") == when and obj_id not in seen:
                seen.add(obj_id)
                yield kind, obj

    # --- idempotency tokens -----------------------------------------------------------------

    def token(self, key: str) -> dict[str, Any] | None:
        return self.tokens.get(key)

    def save_token(self, key: str, record: dict[str, Any]) -> None:
        self.tokens[key] = record
        self._dirty_tokens.add(key)

    # --- persistence ------------------------------------------------------------------------

    @contextmanager
    def request(self) -> Iterator[None]:
        """One request's turn: the state as last written by any process, and what the request
        changes written at its end, all in one SQLite transaction."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self._data_version()
            if version != self._version:  # another process has written since our last turn
                self._version = version
                self._reload()
            yield
        finally:
            try:
                self._write()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _data_version(self) -> int:
        """Changes when another connection commits to the file (SQLite's ``data_version``)."""
        return self._db.execute("PRAGMA data_version").fetchone()[0]

    def _write(self) -> None:
        """Write what this request changed (a request that changed nothing writes nothing)."""
        if not (self._dirty or self._removed or self._dirty_tokens):
            return
        self._db.executemany(
            "INSERT OR REPLACE INTO objects VALUES (?, ?, ?)",
            [
                (obj_id, kind, json.dumps(self.objects[kind][obj_id]))
                for obj_id, kind in self._dirty.items()
            ],
        )
        self._db.executemany("DELETE FROM objects WHERE id = ?", [(i,) for i in self._removed])
        self._db.executemany(
            "INSERT OR REPLACE INTO tokens VALUES (?, ?)",
            [(k, json.dumps(self.tokens[k])) for k in self._dirty_tokens],
        )
        self._dirty.clear()
        self._removed.clear()
        self._dirty_tokens.clear()

    def _reload(self) -> None:
        for objects in self.objects.values():
            objects.clear()
        self._index.clear()
        self._placed.clear()
        self.tokens.clear()
        self._due.clear()
        self._load()

    def _load(self) -> None:
        rows = self._db.execute("SELECT kind, data FROM objects").fetchall()
        loaded = sorted(
            (json.loads(data) | {"_kind": kind} for kind, data in rows), key=lambda obj: obj["_seq"]
        )
        for obj in loaded:
            kind = obj.pop("_kind")
            self.objects[kind][obj_id(kind, obj)] = obj
            self._reindex(kind, obj_id(kind, obj), obj)
            self._seq = max(self._seq, obj["_seq"])
            if "_due" in obj:
                heapq.heappush(self._due, (obj["_due"], obj["_seq"], kind, obj_id(kind, obj)))
        for key, data in self._db.execute("SELECT key, data FROM tokens"):
            self.tokens[key] = json.loads(data)

    def close(self) -> None:
        self._db.close()


ID_MEMBER = {
    "ipam": "IpamId",
    "scope": "IpamScopeId",
    "pool": "IpamPoolId",
    "cidr": "IpamPoolCidrId",
    "allocation": "IpamPoolAllocationId",
}


def obj_id(kind: str, obj: dict[str, Any]) -> str:
    return obj[ID_MEMBER[kind]]
