"""The endpoint store's indexes give what a scan of every object gives, whatever happens.

A state machine adds, changes, re-adds and removes objects, lets another process write to the
same SQLite file (so the store reads everything again), and reopens the file; after every
step, each index answers as a naive scan of the objects does, and the file holds them.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ipamsim.store import ID_MEMBER, INDEXES, KINDS, Store

REGIONS = ("us-east-1", "us-west-2")
STATES = ("create-in-progress", "create-complete", "delete-in-progress", "delete-complete")
SCOPES = ("ipam-scope-a", "ipam-scope-b", "ipam-scope-c")
IPAMS = ("ipam-a", "ipam-b")
POOLS = tuple(f"ipam-pool-{n}" for n in range(6))


@st.composite
def objects(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """An object of some kind with each indexed member drawn from a few values."""
    kind = draw(st.sampled_from(KINDS))
    region, state = draw(st.sampled_from(REGIONS)), draw(st.sampled_from(STATES))
    if kind == "ipam":
        obj = {"IpamRegion": region, "State": state}
    elif kind == "scope":
        obj = {"IpamRegion": region, "State": state, "_ipam": draw(st.sampled_from(IPAMS))}
    elif kind == "pool":
        obj = {
            "IpamRegion": region,
            "State": state,
            "IpamArn": "arn:" + draw(st.sampled_from(IPAMS)),
            "_scope": draw(st.sampled_from(SCOPES)),
        }
        if draw(st.booleans()):
            obj["SourceIpamPoolId"] = draw(st.sampled_from(POOLS))
    else:
        obj = {"_region": region, "_pool": draw(st.sampled_from(POOLS))}
        if kind == "cidr":
            obj["State"] = draw(st.sampled_from(("provisioned", "deprovisioned")))
    # few ids, so that an id comes back (added again after its removal, or while it is there)
    obj[ID_MEMBER[kind]] = (
        draw(st.sampled_from(POOLS))
        if kind == "pool"
        else f"{kind}-" + str(draw(st.integers(0, 5)))
    )
    return kind, obj


def scan(store: Store, kind: str, index: str, value: Any, after: int = 0) -> list[dict]:
    key = INDEXES[kind][index]
    return [o for o in store.all(kind) if key(o) == value and o["_seq"] > after]


class StoreIndex(RuleBasedStateMachine):
    @initialize()
    def open(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="store-index-"))
        self.path = str(self.folder / "state.sqlite3")
        self.store = Store(self.path)
        self.other = Store(self.path)  # another process with the same file

    def teardown(self) -> None:
        self.store.close()
        self.other.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _existing(self, data: st.DataObject, store: Store) -> tuple[str, dict] | None:
        present = [(kind, obj) for kind in KINDS for obj in store.all(kind)]
        return data.draw(st.sampled_from(present)) if present else None

    @rule(made=objects())
    def add(self, made: tuple[str, dict[str, Any]]) -> None:
        kind, obj = made
        with self.store.request():
            self.store.add(kind, obj[ID_MEMBER[kind]], obj)

    @rule(data=st.data(), state=st.sampled_from(STATES))
    def change_state(self, data: st.DataObject, state: str) -> None:
        with self.store.request():
            found = self._existing(data, self.store)
            if found and "State" in found[1]:
                kind, obj = found
                obj["State"] = state
                self.store.touch(kind, obj[ID_MEMBER[kind]])

    @rule(data=st.data())
    def add_again(self, data: st.DataObject) -> None:
        with self.store.request():
            found = self._existing(data, self.store)
            if found:
                kind, obj = found
                self.store.add(kind, obj[ID_MEMBER[kind]], obj)

    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        with self.store.request():
            found = self._existing(data, self.store)
            if found:
                kind, obj = found
                self.store.remove(kind, obj[ID_MEMBER[kind]])

    @rule(data=st.data(), made=objects())
    def another_process_writes(self, data: st.DataObject, made: tuple[str, dict]) -> None:
        with self.other.request():  # reads what this store wrote, then changes something
            kind, obj = made
            self.other.add(kind, obj[ID_MEMBER[kind]], obj)
            found = self._existing(data, self.other)
            if found and data.draw(st.booleans()):
                self.other.remove(found[0], found[1][ID_MEMBER[found[0]]])
        with self.store.request():  # reads it all again
            pass
        assert self._contents(self.store) == self._contents(self.other)

    @rule()
    def reopen(self) -> None:
        before = self._contents(self.store)
        self.store.close()
        self.store = Store(self.path)
        assert self._contents(self.store) == before

    @staticmethod
    def _contents(store: Store) -> dict[str, list[dict]]:
        return {kind: list(store.all(kind)) for kind in KINDS}

    @invariant()
    def indexes_answer_as_a_scan(self) -> None:
        store = getattr(self, "store", None)
        if store is None:
            return
        seqs = [0, *(o["_seq"] for kind in KINDS for o in store.all(kind))]
        for kind in KINDS:
            listed = list(store.all(kind))
            assert [o["_seq"] for o in listed] == sorted(o["_seq"] for o in listed)
            for index, key in INDEXES[kind].items():
                values = {key(o) for o in listed} - {None} | {"nothing-has-this"}
                for value in values:
                    expected = scan(store, kind, index, value)
                    assert store.select(kind, index, value) == expected, (kind, index, value)
                    assert store.count(kind, index, value) == len(expected)
                    for after in seqs[:: max(1, len(seqs) // 4)]:
                        found = store.select(kind, index, value, after=after)
                        assert found == scan(store, kind, index, value, after)

    @invariant()
    def the_file_holds_what_the_store_holds(self) -> None:
        store = getattr(self, "store", None)
        if store is None:
            return
        fresh = Store(self.path)
        try:
            assert self._contents(fresh) == self._contents(store)
        finally:
            fresh.close()


TestStoreIndex = StoreIndex.TestCase


def test_an_index_the_store_does_not_keep_is_refused() -> None:
    store = Store()
    with pytest.raises(KeyError):
        store.select("pool", "cidr", "x")
    store.close()
