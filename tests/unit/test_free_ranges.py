"""awsipam.addressing's free ranges: the free space between allocations, its size as an engineer
reads it, and the block "create a child pool here" offers in it."""

from __future__ import annotations

import itertools
import random

import pytest
from netaddr import IPNetwork, IPSet

from awsipam.addressing import TIMES, free_blocks, free_ranges, range_offer


def nets(*cidrs: str) -> list[IPNetwork]:
    return [IPNetwork(c) for c in cidrs]


def test_aligned_fragments_merge_into_one_range():
    (free,) = free_ranges(nets("10.0.0.0/14"), nets("10.0.0.0/24", "10.0.1.0/24"))
    assert str(free) == "10.0.2.0 - 10.3.255.255"
    assert len(free.blocks) == 9  # what the tree showed before: nine aligned blocks
    assert free.size == 2**18 - 512
    assert free.size_label == f"511 {TIMES} /23"
    assert free.largest_block == IPNetwork("10.2.0.0/15")
    assert free.cidr is None


@pytest.mark.parametrize(
    ("space", "used", "label"),
    [
        ("10.0.0.0/16", ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"], f"253 {TIMES} /24"),
        ("10.0.0.0/16", ["10.0.0.0/17"], f"1 {TIMES} /17"),
        ("10.0.0.0/24", ["10.0.0.0/32"], f"255 {TIMES} /32"),
        # Past 65,536 blocks: the address count and the largest block.
        ("10.0.0.0/8", ["10.0.0.0/32"], "16,777,215 addresses, largest /9"),
        ("fd00::/32", ["fd00::/48"], f"65,535 {TIMES} /48"),
    ],
)
def test_size_label(space, used, label):
    (free,) = free_ranges(nets(space), nets(*used))
    assert free.size_label == label


def test_ranges_stay_inside_one_provisioned_cidr_and_come_ipv4_first():
    ranges = free_ranges(
        nets("fd00::/56", "10.0.1.0/24", "10.0.0.0/24"), nets("10.0.0.128/25", "fd00::/64")
    )
    assert [str(r) for r in ranges] == [
        "10.0.0.0 - 10.0.0.127",
        "10.0.1.0 - 10.0.1.255",
        "fd00:0:0:1:: - fd00::ff:ffff:ffff:ffff:ffff",
    ]
    assert [r.version for r in ranges] == [4, 4, 6]


def test_a_fully_allocated_pool_has_no_range():
    assert free_ranges(nets("10.0.0.0/24"), nets("10.0.0.0/25", "10.0.0.128/25")) == []
    assert free_ranges([], nets("10.0.0.0/25")) == []


@pytest.mark.parametrize("seed", range(25))
def test_ranges_cover_exactly_the_free_space(seed):
    rng = random.Random(seed)
    space = nets("10.0.0.0/16", "10.8.0.0/20")
    used = []
    for _ in range(rng.randint(0, 30)):
        outer = rng.choice(space)
        prefix = rng.randint(outer.prefixlen + 1, 28)
        start = outer.first + rng.randrange(0, outer.size, 2 ** (32 - prefix))
        used.append(IPNetwork((start, prefix), version=4))
    ranges = free_ranges(space, used)
    covered = IPSet()
    for free in ranges:
        assert any(s.first <= free.first and free.last <= s.last for s in space)
        covered |= IPSet(free.blocks)
        assert free.blocks == [
            b for b in free_blocks(space, used) if free.first <= b.first <= free.last
        ]
        assert free.largest_block.prefixlen == min(b.prefixlen for b in free.blocks)
    assert covered == IPSet(space) - IPSet(used)
    # Maximal: no two ranges of one CIDR touch.
    for before, after in itertools.pairwise(ranges):
        assert after.first > before.last + 1 or not any(
            s.first <= before.first and after.last <= s.last for s in space
        )


@pytest.mark.parametrize(
    ("space", "used", "low", "high", "offered"),
    [
        # The largest block (10.2.0.0/15) cut to the pool's minimum netmask length.
        ("10.0.0.0/14", ["10.0.0.0/24"], 16, 28, "10.2.0.0/16"),
        ("10.0.0.0/14", ["10.0.0.0/24"], 8, 28, "10.2.0.0/15"),
        # The lowest of the largest blocks, as AWS picks.
        ("10.0.0.0/16", ["10.0.0.0/18", "10.0.192.0/18"], 0, 32, "10.0.64.0/18"),
        # No block of the range is as long as the maximum allows.
        ("10.0.0.0/24", ["10.0.0.0/25"], 16, 24, None),
        ("fd00::/32", ["fd00::/48"], 48, 64, "fd00:0:8000::/48"),
    ],
)
def test_range_offer(space, used, low, high, offered):
    (free,) = free_ranges(nets(space), nets(*used))
    result = range_offer(free, low, high)
    assert (str(result) if result else None) == offered
