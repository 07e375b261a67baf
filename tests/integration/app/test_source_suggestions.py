"""The source-pool suggestions in a scope of many pools: what they find, in what order, and
that each keystroke costs the same few queries however many pools the scope has."""

from __future__ import annotations

import pytest
from django.db import connection

from pools import selectors
from pools.models import IpamPool
from tests.treedata import build_tree

pytestmark = pytest.mark.django_db


@pytest.fixture
def big():
    return build_tree(300, wide=100, label="many")


def suggested(tree, text: str) -> list[IpamPool]:
    return selectors.source_pool_suggestions(tree.scope, "ipv4", text)


def test_an_id_prefix_finds_the_pools_it_starts(big):
    pool = big.pools[123]
    found = suggested(big, pool.pool_id[:-1])
    assert pool in found
    assert all(p.pool_id.startswith(pool.pool_id[:-1]) for p in found)


def test_a_name_prefix_and_a_fragment_anywhere_are_found(big):
    assert {p.name for p in suggested(big, "wide-005")} == {
        f"wide-{i:04d}-{big.pools[1].name.rsplit('-', 1)[1]}" for i in range(50, 60)
    }
    found = suggested(big, "DEPTH 10")  # in the description, any case
    assert found
    assert all(p.depth == 10 for p in found)


def test_at_most_the_first_twenty_without_duplicates(big):
    found = suggested(big, "wide")
    assert len(found) == selectors.SOURCE_SUGGESTIONS
    assert len({p.pk for p in found}) == len(found)
    assert len(suggested(big, "")) == selectors.SOURCE_SUGGESTIONS


def test_prefixes_come_first_then_fragments(big):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's trigram search orders every match alike")
    root = big.pools[0]  # "root-0-many..." starts with "root"; others have "root" nowhere
    IpamPool.objects.filter(pk=big.pools[200].pk).update(description="under the root pool")
    found = suggested(big, "root")
    assert found[0].name.startswith("root")
    assert found[-1].pk == big.pools[200].pk
    assert root in found


@pytest.mark.parametrize("text", ["%", "_", "\\", "\U0010ffff", "x" * 10_000, "'", "\x01"])
def test_any_text(big, text):
    assert suggested(big, text) == []


def test_each_keystroke_costs_the_same_queries(big, django_assert_max_num_queries):
    small = build_tree(30, label="few")
    for tree in (small, big):
        for text in ("", "wide-00", "ipam-pool-", "depth 3", "nothing-like-this"):
            with django_assert_max_num_queries(3):
                selectors.source_pool_suggestions(tree.scope, "ipv4", text)
