"""awsipam.addressing: CIDR parsing, free space, lowest free block, taking space from a pool."""

from __future__ import annotations

import random

import pytest
from netaddr import IPNetwork, IPSet

from awsipam import addressing


def nets(*texts):
    return [IPNetwork(t) for t in texts]


# --- parse_cidr ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "family", "network"),
    [
        ("10.0.0.0/8", "ipv4", "10.0.0.0/8"),
        (" 10.0.0.0/16 ", "ipv4", "10.0.0.0/16"),
        ("0.0.0.0/0", "ipv4", "0.0.0.0/0"),
        ("10.0.0.1/32", "ipv4", "10.0.0.1/32"),
        ("fd00:ec2::/48", "ipv6", "fd00:ec2::/48"),
        ("FD00:0EC2::/48", "ipv6", "fd00:ec2::/48"),
        ("::/0", "ipv6", "::/0"),
        ("10.0.0.0/8", None, "10.0.0.0/8"),
    ],
)
def test_parse_cidr_accepts(text, family, network):
    parsed = addressing.parse_cidr(text, family)

    assert parsed.violation is None
    assert parsed.network == IPNetwork(network)
    assert str(parsed.network) == network


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "10.0.0.0",
        "10/8",
        "10.0.0/24",
        "010.0.0.0/8",
        "10.0.0.0/33",
        "10.0.0.0/-1",
        "fd00::/129",
        "10.0.0.0/8/8",
        "10.0.0.0 /8",
        "10.0.0.0/ 8",
        "10.0.0.0/+8",
        "10.0.0.0/8x",
        "banana/8",
    ],
)
def test_parse_cidr_refuses_what_is_not_a_cidr(text):
    parsed = addressing.parse_cidr(text, "ipv4", field="AllowedCidrs")

    assert parsed.network is None
    assert parsed.violation.code == "cidr_invalid"
    assert parsed.violation.field == "AllowedCidrs"
    assert parsed.violation.aws_code == "InvalidParameterValue"


@pytest.mark.parametrize(("text", "family"), [("fd00::/8", "ipv4"), ("10.0.0.0/8", "ipv6")])
def test_parse_cidr_refuses_the_other_family(text, family):
    assert addressing.parse_cidr(text, family).violation.code == "cidr_wrong_family"


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [("10.0.0.1/16", "10.0.0.0/16"), ("fd00::1/64", "fd00::/64"), ("1.2.3.4/0", "0.0.0.0/0")],
)
def test_parse_cidr_suggests_the_network_for_host_bits(text, suggestion):
    violation = addressing.parse_cidr(text, None).violation

    assert violation.code == "cidr_host_bits_set"
    assert f"did you mean {suggestion}?" in violation.message


# --- overlaps and containment -------------------------------------------------------------------


def test_overlapping():
    candidate = IPNetwork("10.0.1.0/24")
    others = nets("10.0.0.0/24", "10.0.1.128/25", "10.0.0.0/16", "10.0.2.0/24", "fd00::/8")

    assert addressing.overlapping(candidate, others) == nets("10.0.1.128/25", "10.0.0.0/16")


def test_contains():
    assert addressing.contains(IPNetwork("10.0.0.0/16"), IPNetwork("10.0.0.0/16"))
    assert addressing.contains(IPNetwork("10.0.0.0/16"), IPNetwork("10.0.255.0/24"))
    assert not addressing.contains(IPNetwork("10.0.0.0/16"), IPNetwork("10.0.0.0/15"))
    assert not addressing.contains(IPNetwork("10.0.0.0/16"), IPNetwork("10.1.0.0/24"))
    assert not addressing.contains(IPNetwork("::/0"), IPNetwork("10.0.0.0/8"))


def test_free_blocks_in_address_order():
    free = addressing.free_blocks(nets("10.0.0.0/24"), nets("10.0.0.0/28", "10.0.0.64/26"))

    assert free == nets("10.0.0.16/28", "10.0.0.32/27", "10.0.0.128/25")


def test_free_space():
    free = addressing.free_space(nets("10.0.0.0/24", "10.1.0.0/24"), nets("10.0.0.0/25"))

    assert free == IPSet(["10.0.0.128/25", "10.1.0.0/24"])


# --- lowest_free_block --------------------------------------------------------------------------


def test_the_spec_example():
    block = addressing.lowest_free_block(
        nets("172.2.0.0/24"), [], 28, disallowed=nets("172.2.0.0/28")
    )

    assert block == IPNetwork("172.2.0.16/28")


@pytest.mark.parametrize(
    ("used", "length", "expected"),
    [
        ((), 24, "10.0.0.0/24"),
        (("10.0.0.0/24",), 24, "10.0.1.0/24"),
        (("10.0.0.0/24",), 23, "10.0.2.0/23"),
        (("10.0.0.0/28",), 25, "10.0.0.128/25"),
        (("10.0.0.0/28",), 28, "10.0.0.16/28"),
        (("10.0.0.0/28", "10.0.0.32/27"), 28, "10.0.0.16/28"),
        (("10.0.0.16/28",), 28, "10.0.0.0/28"),
        (("10.0.0.0/17",), 16, None),
        ((), 15, None),
    ],
)
def test_lowest_free_block(used, length, expected):
    block = addressing.lowest_free_block(nets("10.0.0.0/16"), nets(*used), length)

    assert block == (IPNetwork(expected) if expected else None)


def test_lowest_free_block_across_cidrs_goes_by_address():
    space = nets("10.9.0.0/24", "10.1.0.0/24")

    assert addressing.lowest_free_block(space, [], 25) == IPNetwork("10.1.0.0/25")
    assert addressing.lowest_free_block(space, nets("10.1.0.0/24"), 25) == IPNetwork("10.9.0.0/25")


def test_lowest_free_block_with_allowed_and_disallowed():
    space = nets("10.0.0.0/16")

    assert addressing.lowest_free_block(space, [], 24, allowed=nets("10.0.128.0/17")) == (
        IPNetwork("10.0.128.0/24")
    )
    assert addressing.lowest_free_block(
        space, [], 24, allowed=nets("10.0.16.0/20"), disallowed=nets("10.0.16.0/22")
    ) == IPNetwork("10.0.20.0/24")
    assert addressing.lowest_free_block(space, [], 24, allowed=nets("10.0.0.0/25")) is None
    assert addressing.lowest_free_block(space, [], 24, allowed=nets("192.168.0.0/16")) is None


def test_lowest_free_block_ipv6():
    block = addressing.lowest_free_block(nets("fd00::/48"), nets("fd00::/64"), 64)

    assert block == IPNetwork("fd00:0:0:1::/64")


def test_lowest_free_block_matches_a_brute_force_search():
    rng = random.Random(11)
    space = nets("10.0.0.0/20")
    used: list[IPNetwork] = []
    for _ in range(200):
        length = rng.randint(22, 30)
        block = addressing.lowest_free_block(space, used, length)
        expected = _brute_force(space[0], used, length)
        assert block == expected
        if block is None:
            continue
        assert not addressing.overlapping(block, used)
        used.append(block)
        if rng.random() < 0.3:
            used.pop(rng.randrange(len(used)))


def _brute_force(space: IPNetwork, used: list[IPNetwork], length: int) -> IPNetwork | None:
    for candidate in space.subnet(length):
        if not addressing.overlapping(candidate, used):
            return candidate
    return None


# --- check_in_free_space ------------------------------------------------------------------------


def take(text, used=(), low=16, high=28):
    return addressing.check_in_free_space(
        IPNetwork(text),
        space=nets("10.0.0.0/16"),
        used=nets(*used),
        min_netmask=low,
        max_netmask=high,
    )


def test_check_in_free_space_accepts_a_free_block():
    assert take("10.0.4.0/24", used=("10.0.0.0/22",)) is None
    assert take("10.0.0.0/16") is None


@pytest.mark.parametrize(
    ("text", "used", "code"),
    [
        ("10.0.0.0/15", (), "cidr_netmask_outside_pool_rules"),
        ("10.0.0.0/29", (), "cidr_netmask_outside_pool_rules"),
        ("10.1.0.0/24", (), "cidr_outside_pool_space"),
        ("10.0.1.0/24", ("10.0.0.0/22",), "cidr_overlaps_allocation"),
        ("10.0.0.0/20", ("10.0.1.0/24",), "cidr_overlaps_allocation"),
    ],
)
def test_check_in_free_space_refuses(text, used, code):
    violation = take(text, used)

    assert violation.code == code
    assert violation.aws_code == "InvalidParameterValue"


def test_check_in_free_space_names_the_pool():
    violation = addressing.check_in_free_space(
        IPNetwork("10.1.0.0/24"),
        space=[],
        used=[],
        min_netmask=0,
        max_netmask=32,
        pool_label="the source pool ipam-pool-1",
    )

    assert "the source pool ipam-pool-1" in violation.message
