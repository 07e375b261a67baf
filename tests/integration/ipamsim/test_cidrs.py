"""ProvisionIpamPoolCidr, GetIpamPoolCidrs, DeprovisionIpamPoolCidr: a pool's address space."""

from __future__ import annotations

import pytest

import ipamsim
from tests.integration.ipamsim.support import (
    CIDR_ID,
    HOME,
    FakeClock,
    allocations_of,
    api_error,
    cidrs_of,
)


def test_provision_a_cidr_to_a_top_level_pool(ec2, world):
    pool_id = world.pool()

    answer = ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/24")["IpamPoolCidr"]

    assert answer["Cidr"] == "10.0.0.0/24"
    assert answer["State"] == "pending-provision"
    assert answer["NetmaskLength"] == 24
    assert CIDR_ID.match(answer["IpamPoolCidrId"])
    listed = ec2.get_ipam_pool_cidrs(IpamPoolId=pool_id)["IpamPoolCidrs"]
    assert listed == [answer | {"State": "provisioned"}]


def test_provision_ipv6(ec2, world):
    pool_id = world.pool(AddressFamily="ipv6")

    answer = ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="fd00:ec2::/48")

    assert answer["IpamPoolCidr"]["NetmaskLength"] == 48


@pytest.mark.parametrize("params", [{}, {"Cidr": "10.0.0.0/16", "NetmaskLength": 16}])
def test_provision_takes_exactly_one_of_cidr_and_netmask_length(ec2, world, params):
    pool_id = world.pool()

    with api_error("InvalidParameterCombination"):
        ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, **params)


def test_netmask_length_alone_needs_a_source_pool(ec2, world):
    pool_id = world.pool()

    with api_error("InvalidParameterCombination"):
        ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=16)


def test_an_amazon_provided_ipv6_pool_takes_a_netmask_length(ec2, world):
    pool_id = world.pool(
        world.public_scope, AddressFamily="ipv6", PublicIpSource="amazon", Locale=HOME
    )

    answer = ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=52)["IpamPoolCidr"]

    assert answer["Cidr"].endswith("/52")
    assert answer["NetmaskLength"] == 52


@pytest.mark.parametrize(
    "cidr",
    ["10.0.0.0", "10.0.0.0/33", "banana/8", "fd00::/8", "10.0.0.1/16", ""],
    ids=["no-prefix", "long-prefix", "garbage", "wrong-family", "host-bits", "empty"],
)
def test_provision_refuses_what_is_not_a_cidr_of_the_pool_family(ec2, world, cidr):
    pool_id = world.pool()

    with api_error("InvalidParameterValue"):
        ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr=cidr)


def test_provision_to_an_unknown_pool_is_not_found(ec2, world):
    with api_error("InvalidIpamPoolId.NotFound"):
        ec2.provision_ipam_pool_cidr(IpamPoolId="ipam-pool-0123456789abcdef0", Cidr="10.0.0.0/8")


def test_provision_to_a_pool_still_being_created(ec2, use_sim):
    sim = use_sim(ipamsim.Config(create_delay=60))
    scope = sim.call("CreateIpam")["Ipam"]["PrivateDefaultScopeId"]
    pool_id = sim.call("CreateIpamPool", IpamScopeId=scope, AddressFamily="ipv4")["IpamPool"][
        "IpamPoolId"
    ]

    with api_error("IncorrectState"):
        ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/8")


def test_provision_replays_its_client_token(ec2, world):
    pool_id = world.pool()
    first = ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16", ClientToken="c")
    again = ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16", ClientToken="c")

    assert again["IpamPoolCidr"]["IpamPoolCidrId"] == first["IpamPoolCidr"]["IpamPoolCidrId"]
    assert len(ec2.get_ipam_pool_cidrs(IpamPoolId=pool_id)["IpamPoolCidrs"]) == 1
    with api_error("IdempotentParameterMismatch"):
        ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.1.0.0/16", ClientToken="c")


# --- top-level pools ----------------------------------------------------------------------------


def test_top_level_pools_in_one_scope_do_not_overlap(ec2, world):
    world.provisioned_pool("10.0.0.0/16")
    other = world.pool()

    for cidr in ("10.0.0.0/16", "10.0.128.0/24", "10.0.0.0/8"):
        with api_error("InvalidParameterValue"):
            ec2.provision_ipam_pool_cidr(IpamPoolId=other, Cidr=cidr)
    ec2.provision_ipam_pool_cidr(IpamPoolId=other, Cidr="10.1.0.0/16")


def test_a_pool_cidr_does_not_overlap_its_own_cidrs(ec2, world):
    pool_id = world.provisioned_pool("10.0.0.0/16")

    with api_error("InvalidParameterValue"):
        ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.1.0/24")


def test_top_level_pools_in_different_scopes_may_overlap(ec2, world):
    world.provisioned_pool("10.0.0.0/16")
    elsewhere = world.pool(world.scope())

    ec2.provision_ipam_pool_cidr(IpamPoolId=elsewhere, Cidr="10.0.0.0/16")

    assert cidrs_of(ec2, elsewhere) == {"10.0.0.0/16": "provisioned"}


def test_deprovisioned_space_can_be_provisioned_again(ec2, world):
    first = world.provisioned_pool("10.0.0.0/16")
    ec2.deprovision_ipam_pool_cidr(IpamPoolId=first, Cidr="10.0.0.0/16")
    other = world.pool()

    ec2.provision_ipam_pool_cidr(IpamPoolId=other, Cidr="10.0.0.0/16")

    assert cidrs_of(ec2, other) == {"10.0.0.0/16": "provisioned"}


# --- child pools: space from the source pool ----------------------------------------------------


@pytest.fixture
def parent(world):
    """A regional pool with 10.0.0.0/16 whose allocations must be /18 to /24."""
    return world.provisioned_pool(
        "10.0.0.0/16", AllocationMinNetmaskLength=18, AllocationMaxNetmaskLength=24
    )


def test_a_child_cidr_becomes_an_ipam_pool_allocation_in_the_source(ec2, world, parent):
    child = world.pool(SourceIpamPoolId=parent)

    answer = ec2.provision_ipam_pool_cidr(IpamPoolId=child, Cidr="10.0.64.0/18")

    assert answer["IpamPoolCidr"]["Cidr"] == "10.0.64.0/18"
    (allocation,) = allocations_of(ec2, parent)
    assert allocation["Cidr"] == "10.0.64.0/18"
    assert allocation["ResourceType"] == "ipam-pool"
    assert allocation["ResourceId"] == child
    assert cidrs_of(ec2, child) == {"10.0.64.0/18": "provisioned"}


@pytest.mark.parametrize(
    "cidr",
    ["10.1.0.0/24", "10.0.0.0/15", "192.168.0.0/24"],
    ids=["beside", "around", "elsewhere"],
)
def test_a_child_cidr_lies_inside_the_sources_cidr(ec2, world, parent, cidr):
    child = world.pool(SourceIpamPoolId=parent)

    with api_error("InvalidParameterValue"):
        ec2.provision_ipam_pool_cidr(IpamPoolId=child, Cidr=cidr)


@pytest.mark.parametrize("cidr", ["10.0.0.0/17", "10.0.0.0/25"])
def test_a_child_cidr_respects_the_sources_netmask_range(ec2, world, parent, cidr):
    child = world.pool(SourceIpamPoolId=parent)

    with api_error("InvalidParameterValue"):
        ec2.provision_ipam_pool_cidr(IpamPoolId=child, Cidr=cidr)


@pytest.mark.parametrize("cidr", ["10.0.0.0/18", "10.0.1.0/24", "10.0.0.0/24"])
def test_a_child_cidr_must_be_free_in_the_source(ec2, world, parent, cidr):
    first = world.pool(SourceIpamPoolId=parent)
    ec2.provision_ipam_pool_cidr(IpamPoolId=first, Cidr="10.0.0.0/22")
    second = world.pool(SourceIpamPoolId=parent)

    with api_error("InvalidParameterValue"):
        ec2.provision_ipam_pool_cidr(IpamPoolId=second, Cidr=cidr)


def test_a_child_cidr_may_not_take_a_custom_allocation(ec2, world):
    parent = world.provisioned_pool("10.0.0.0/16", Locale=HOME)
    ec2.allocate_ipam_pool_cidr(IpamPoolId=parent, Cidr="10.0.5.0/24")
    child = world.pool(SourceIpamPoolId=parent, Locale=HOME)

    with api_error("InvalidParameterValue"):
        ec2.provision_ipam_pool_cidr(IpamPoolId=child, Cidr="10.0.4.0/22")


def test_a_child_netmask_length_takes_the_lowest_free_block(ec2, world, parent):
    child = world.pool(SourceIpamPoolId=parent)
    sibling = world.pool(SourceIpamPoolId=parent)
    ec2.provision_ipam_pool_cidr(IpamPoolId=sibling, Cidr="10.0.0.0/24")

    got = [
        ec2.provision_ipam_pool_cidr(IpamPoolId=child, NetmaskLength=length)["IpamPoolCidr"]["Cidr"]
        for length in (24, 22, 24, 18)
    ]

    assert got == ["10.0.1.0/24", "10.0.4.0/22", "10.0.2.0/24", "10.0.64.0/18"]
    in_source = sorted(a["Cidr"] for a in allocations_of(ec2, parent))
    assert in_source == sorted(["10.0.0.0/24", *got])


def test_a_child_netmask_length_outside_the_sources_range_is_refused(ec2, world, parent):
    child = world.pool(SourceIpamPoolId=parent)

    with api_error("InvalidParameterValue"):
        ec2.provision_ipam_pool_cidr(IpamPoolId=child, NetmaskLength=16)


def test_a_child_netmask_length_with_no_room_fails_to_provision(ec2, world):
    parent = world.pool()
    child = world.pool(SourceIpamPoolId=parent)

    answer = ec2.provision_ipam_pool_cidr(IpamPoolId=child, NetmaskLength=24)["IpamPoolCidr"]

    assert answer["State"] == "pending-provision"
    assert "Cidr" not in answer
    (listed,) = ec2.get_ipam_pool_cidrs(IpamPoolId=child)["IpamPoolCidrs"]
    assert listed["State"] == "failed-provision"
    assert listed["FailureReason"]["Code"] == "cidr-not-available"
    assert listed["FailureReason"]["Message"]


def test_a_source_without_space_refuses_a_child_cidr(ec2, world):
    parent = world.pool()
    child = world.pool(SourceIpamPoolId=parent)

    with api_error("InvalidParameterValue"):
        ec2.provision_ipam_pool_cidr(IpamPoolId=child, Cidr="10.0.0.0/16")


def test_space_of_a_pending_source_cidr_is_not_yet_usable(ec2, use_sim):
    clock = FakeClock()
    sim = use_sim(ipamsim.Config(create_delay=5), clock=clock)
    scope = sim.call("CreateIpam")["Ipam"]["PrivateDefaultScopeId"]
    parent = sim.call("CreateIpamPool", IpamScopeId=scope, AddressFamily="ipv4")["IpamPool"][
        "IpamPoolId"
    ]
    clock.advance(5)
    child = sim.call(
        "CreateIpamPool", IpamScopeId=scope, AddressFamily="ipv4", SourceIpamPoolId=parent
    )["IpamPool"]["IpamPoolId"]
    clock.advance(5)
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=parent, Cidr="10.0.0.0/16")
    clock.advance(1)

    with api_error("InvalidParameterValue"):
        ec2.provision_ipam_pool_cidr(IpamPoolId=child, Cidr="10.0.0.0/24")
    clock.advance(5)
    ec2.provision_ipam_pool_cidr(IpamPoolId=child, Cidr="10.0.0.0/24")


# --- GetIpamPoolCidrs ---------------------------------------------------------------------------


def test_get_ipam_pool_cidrs_includes_deprovisioned_ones(ec2, world):
    pool_id = world.provisioned_pool("10.0.0.0/16")
    ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="172.16.0.0/16")
    ec2.deprovision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")

    assert cidrs_of(ec2, pool_id) == {
        "10.0.0.0/16": "deprovisioned",
        "172.16.0.0/16": "provisioned",
    }


def test_get_ipam_pool_cidrs_filters_by_cidr_with_wildcards(ec2, world):
    pool_id = world.provisioned_pool("10.0.0.0/16")
    ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="172.16.0.0/16")
    ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.8.0.0/16")

    def cidrs(*values):
        found = ec2.get_ipam_pool_cidrs(
            IpamPoolId=pool_id, Filters=[{"Name": "cidr", "Values": list(values)}]
        )["IpamPoolCidrs"]
        return [c["Cidr"] for c in found]

    assert cidrs("10.*") == ["10.0.0.0/16", "10.8.0.0/16"]
    assert cidrs("172.16.0.0/16") == ["172.16.0.0/16"]
    assert cidrs("*/16") == ["10.0.0.0/16", "172.16.0.0/16", "10.8.0.0/16"]
    assert cidrs("10.8.*", "172.*") == ["172.16.0.0/16", "10.8.0.0/16"]
    assert cidrs("192.*") == []


def test_get_ipam_pool_cidrs_paginates(ec2, world):
    pool_id = world.pool()
    made = [f"10.{n}.0.0/16" for n in range(7)]
    for cidr in made:
        world.sim.call("ProvisionIpamPoolCidr", IpamPoolId=pool_id, Cidr=cidr)

    pages = list(
        ec2.get_paginator("get_ipam_pool_cidrs").paginate(
            IpamPoolId=pool_id, PaginationConfig={"PageSize": 5}
        )
    )

    assert [len(p["IpamPoolCidrs"]) for p in pages] == [5, 2]
    assert [c["Cidr"] for p in pages for c in p["IpamPoolCidrs"]] == made


def test_get_ipam_pool_cidrs_of_an_unknown_pool_is_not_found(ec2, world):
    with api_error("InvalidIpamPoolId.NotFound"):
        ec2.get_ipam_pool_cidrs(IpamPoolId="ipam-pool-0123456789abcdef0")


# --- DeprovisionIpamPoolCidr --------------------------------------------------------------------


def test_deprovision(ec2, world):
    pool_id = world.provisioned_pool("11.0.0.0/16")

    answer = ec2.deprovision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="11.0.0.0/16")

    assert answer["IpamPoolCidr"]["Cidr"] == "11.0.0.0/16"
    assert answer["IpamPoolCidr"]["State"] == "pending-deprovision"
    assert cidrs_of(ec2, pool_id) == {"11.0.0.0/16": "deprovisioned"}


def test_deprovision_twice_is_incorrect_state(ec2, world):
    pool_id = world.provisioned_pool("11.0.0.0/16")
    ec2.deprovision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="11.0.0.0/16")

    with api_error("IncorrectState"):
        ec2.deprovision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="11.0.0.0/16")


def test_deprovision_a_cidr_the_pool_does_not_have(ec2, world):
    pool_id = world.provisioned_pool("11.0.0.0/16")

    with api_error("InvalidParameterValue"):
        ec2.deprovision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="11.0.0.0/24")


def failed_deprovision(ec2, pool_id, cidr):
    (found,) = [
        c for c in ec2.get_ipam_pool_cidrs(IpamPoolId=pool_id)["IpamPoolCidrs"] if c["Cidr"] == cidr
    ]
    return found["State"], found.get("FailureReason", {}).get("Message")


def test_a_cidr_holding_allocations_fails_to_deprovision(ec2, world):
    """C7: accepted, then failed-deprovision with AWS's reason; the space stays."""
    pool_id = world.provisioned_pool("10.0.0.0/16", Locale=HOME)
    ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=24)

    answer = ec2.deprovision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")

    assert answer["IpamPoolCidr"]["State"] == "pending-deprovision"
    assert failed_deprovision(ec2, pool_id, "10.0.0.0/16") == (
        "failed-deprovision",
        "The CIDR has one or more allocations.",
    )
    assert allocate_next(ec2, pool_id, 24) == "10.0.1.0/24"


def test_a_cidr_holding_a_child_pool_fails_to_deprovision(ec2, world, parent):
    child = world.pool(SourceIpamPoolId=parent)
    ec2.provision_ipam_pool_cidr(IpamPoolId=child, Cidr="10.0.0.0/20")

    ec2.deprovision_ipam_pool_cidr(IpamPoolId=parent, Cidr="10.0.0.0/16")

    assert failed_deprovision(ec2, parent, "10.0.0.0/16")[0] == "failed-deprovision"
    assert cidrs_of(ec2, child) == {"10.0.0.0/20": "provisioned"}


def test_deprovisioning_a_child_cidr_frees_it_in_the_source(ec2, world, parent):
    child = world.pool(SourceIpamPoolId=parent)
    ec2.provision_ipam_pool_cidr(IpamPoolId=child, Cidr="10.0.0.0/20")

    ec2.deprovision_ipam_pool_cidr(IpamPoolId=child, Cidr="10.0.0.0/20")

    assert allocations_of(ec2, parent) == []
    again = world.pool(SourceIpamPoolId=parent)
    ec2.provision_ipam_pool_cidr(IpamPoolId=again, Cidr="10.0.0.0/20")
    assert [a["ResourceId"] for a in allocations_of(ec2, parent)] == [again]


def test_deprovision_names_the_cidr_as_provisioned(ec2, world):
    pool_id = world.pool(AddressFamily="ipv6")
    ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="FD00:0EC2::/48")

    answer = ec2.deprovision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="FD00:0EC2::/48")

    assert answer["IpamPoolCidr"]["Cidr"] == "fd00:ec2::/48"
    assert cidrs_of(ec2, pool_id) == {"fd00:ec2::/48": "deprovisioned"}


def test_deprovision_refuses_what_is_not_a_cidr(ec2, world):
    pool_id = world.provisioned_pool("10.0.0.0/16")

    with api_error("InvalidParameterValue"):
        ec2.deprovision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0")


def test_an_amazon_pool_without_a_free_block_fails_to_provision(ec2, world):
    pool_id = world.pool(
        world.public_scope, AddressFamily="ipv6", PublicIpSource="amazon", Locale=HOME
    )

    answer = ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=20)["IpamPoolCidr"]

    assert "Cidr" not in answer
    (listed,) = ec2.get_ipam_pool_cidrs(IpamPoolId=pool_id)["IpamPoolCidrs"]
    assert listed["State"] == "failed-provision"
    assert listed["FailureReason"]["Code"] == "cidr-not-available"


def allocate_next(ec2, pool_id, length):
    return ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=length)[
        "IpamPoolAllocation"
    ]["Cidr"]
