"""awsipam.addressing.free_blocks against netaddr's IPSet, on random pools."""

from __future__ import annotations

import random

import pytest
from netaddr import IPNetwork, IPSet

from awsipam.addressing import free_blocks


def nets(texts: list[str]) -> list[IPNetwork]:
    return [IPNetwork(t) for t in texts]


def random_networks(rng: random.Random, version: int, count: int) -> list[IPNetwork]:
    """Aligned networks of random sizes inside 10.0.0.0/8 or fd00::/104."""
    bits, base, base_prefix = (32, 0x0A000000, 8) if version == 4 else (128, 0xFD << 120, 104)
    found = []
    for _ in range(count):
        prefix = rng.randint(base_prefix + 1, base_prefix + 24)
        first = base + (rng.randrange(1 << (prefix - base_prefix)) << (bits - prefix))
        found.append(IPNetwork((first, prefix), version=version))
    return found


@pytest.mark.parametrize("seed", range(40))
def test_free_blocks_match_ipset(seed):
    rng = random.Random(seed)
    space = random_networks(rng, 4, rng.randint(0, 4)) + random_networks(rng, 6, rng.randint(0, 3))
    used = random_networks(rng, 4, rng.randint(0, 60)) + random_networks(rng, 6, rng.randint(0, 40))
    expected = list((IPSet(space) - IPSet(used)).iter_cidrs())
    assert free_blocks(space, used) == expected


@pytest.mark.parametrize(
    ("space", "used", "free"),
    [
        (["10.0.0.0/8"], [], ["10.0.0.0/8"]),
        (["10.0.0.0/8"], ["10.0.0.0/8"], []),
        (["10.0.0.0/9", "10.128.0.0/9"], [], ["10.0.0.0/8"]),  # touching CIDRs join
        (["10.0.0.0/24"], ["10.0.0.0/26", "10.0.0.0/25"], ["10.0.0.128/25"]),  # overlaps
        (["10.0.0.0/24"], ["10.1.0.0/16"], ["10.0.0.0/24"]),  # used elsewhere
        (["0.0.0.0/0"], ["0.0.0.0/1"], ["128.0.0.0/1"]),
        (["::/0"], [], ["::/0"]),
        (["fd00::/8", "10.0.0.0/31"], ["10.0.0.1/32"], ["10.0.0.0/32", "fd00::/8"]),
    ],
)
def test_free_blocks_edges(space, used, free):
    assert free_blocks(nets(space), nets(used)) == nets(free)
