"""awsipam.rules for AllocateIpamPoolCidr: the size asked, AllowedCidrs and DisallowedCidrs."""

from __future__ import annotations

from netaddr import IPNetwork

from awsipam import rules
from awsipam.facts import AllocationFacts, CidrFacts, PoolFacts

POOL_ID = "ipam-pool-0000000000000000a"


def pool(*cidrs: str, used: tuple[str, ...] = (), family: str = "ipv4", **changes) -> PoolFacts:
    facts = {
        "pool_id": POOL_ID,
        "scope_id": "ipam-scope-0000000000000000a",
        "scope_type": "private",
        "address_family": family,
        "state": "create-complete",
        "depth": 1,
        "cidrs": tuple(CidrFacts(IPNetwork(c), "provisioned") for c in cidrs),
        "allocations": tuple(
            AllocationFacts(f"ipam-pool-alloc-{n}", IPNetwork(c), "custom")
            for n, c in enumerate(used)
        ),
    }
    return PoolFacts(**(facts | changes))


def check(facts: PoolFacts, **request) -> list[tuple[str, str | None]]:
    found = rules.check_allocate_ipam_pool_cidr({"IpamPoolId": POOL_ID, **request}, pool=facts)
    return [(v.code, v.field) for v in found]


def test_the_disallowed_block_is_skipped_as_aws_does():
    """Spec section 4: pool 172.2.0.0/24, a /28 with DisallowedCidrs [172.2.0.0/28]."""
    facts = pool("172.2.0.0/24")
    request = {"NetmaskLength": 28, "DisallowedCidrs": ["172.2.0.0/28"]}

    assert check(facts, **request) == []
    assert rules.next_allocation_cidr(request, pool=facts) == IPNetwork("172.2.0.16/28")


def test_allowed_cidrs_confine_the_block():
    facts = pool("10.0.0.0/16", used=("10.0.0.0/24",))
    request = {"NetmaskLength": 24, "AllowedCidrs": ["10.0.128.0/17"]}

    assert rules.next_allocation_cidr(request, pool=facts) == IPNetwork("10.0.128.0/24")


def test_no_free_block_where_allowed():
    facts = pool("10.0.0.0/16", used=("10.0.128.0/17",))

    assert check(facts, NetmaskLength=24, AllowedCidrs=["10.0.128.0/17"]) == [
        ("allocation_not_available", "NetmaskLength")
    ]


def test_cidr_lists_are_checked_for_syntax_and_family():
    facts = pool("10.0.0.0/16")

    assert check(facts, NetmaskLength=24, AllowedCidrs=["10.0.0/24"]) == [
        ("cidr_invalid", "AllowedCidrs")
    ]
    assert check(facts, NetmaskLength=24, DisallowedCidrs=["fd00::/8"]) == [
        ("cidr_wrong_family", "DisallowedCidrs")
    ]
    assert check(facts, NetmaskLength=24, AllowedCidrs=["10.0.0.1/24"]) == [
        ("cidr_host_bits_set", "AllowedCidrs")
    ]


def test_cidr_lists_must_share_space_with_the_pool():
    facts = pool("10.0.0.0/16")

    assert check(facts, NetmaskLength=24, AllowedCidrs=["192.168.0.0/16"]) == [
        ("allocation_cidr_outside_pool", "AllowedCidrs")
    ]
    assert check(facts, NetmaskLength=24, DisallowedCidrs=["10.1.0.0/16"]) == [
        ("allocation_cidr_outside_pool", "DisallowedCidrs")
    ]
    # wider than the pool, or a part of it: fine
    assert check(facts, NetmaskLength=24, AllowedCidrs=["10.0.0.0/8"]) == []
    assert check(facts, NetmaskLength=24, DisallowedCidrs=["10.0.4.0/22"]) == []


def test_cidr_lists_need_a_netmask_length():
    facts = pool("10.0.0.0/16")

    assert check(facts, Cidr="10.0.1.0/24", DisallowedCidrs=["10.0.0.0/24"]) == [
        ("allowed_cidrs_need_netmask", "DisallowedCidrs")
    ]


def test_the_default_netmask_stands_in_for_a_missing_size():
    assert check(pool("10.0.0.0/16")) == [("allocation_size_missing", "NetmaskLength")]
    assert check(pool("10.0.0.0/16", default_netmask=24)) == []
