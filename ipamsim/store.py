"""The endpoint's state: AWS-shaped objects in memory, written through to SQLite.

Objects are the dicts the API returns (``IpamPoolId``, ``State`` ...), plus private keys that
start with ``_`` (the serializer only writes members of the output shape, so these never leak).
Every request runs under one lock and in one SQLite transaction, which makes the endpoint safe
under concurrent requests and its state durable across restarts. Processes that share a state
file (a web server's workers, a management command beside them) take turns, and each reads
again what another has written, so none answers from a stale state.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

KINDS = ("ipam", "scope", "pool", "cidr", "allocation")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (id TEXT PRIMARY KEY, kind TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (key TEXT PRIMARY KEY, data TEXT NOT NULL);
"""


class Store:
    def __init__(self, path: str | None = None) -> None:
        self.objects: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
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

    def add(self, kind: str, obj_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        self._seq += 1
        obj["_seq"] = self._seq
        self.objects[kind][obj_id] = obj
        self.touch(kind, obj_id)
        return obj

    def get(self, kind: str, obj_id: str) -> dict[str, Any] | None:
        return self.objects[kind].get(obj_id)

    def all(self, kind: str) -> Iterator[dict[str, Any]]:
        return iter(self.objects[kind].values())

    def touch(self, kind: str, obj_id: str) -> None:
        self._dirty[obj_id] = kind
        obj = self.objects[kind][obj_id]
        if "_due" in obj:
            heapq.heappush(self._due, (obj["_due"], obj["_seq"], kind, obj_id))

    def remove(self, kind: str, obj_id: str) -> None:
        self.objects[kind].pop(obj_id, None)
        self._dirty.pop(obj_id, None)
        self._removed.add(obj_id)

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
        """Write what this request changed."""
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
