"""AllocateIpamPoolCidr, GetIpamPoolAllocations, ReleaseIpamPoolAllocation."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from netaddr import IPNetwork

from tests.integration.ipamsim.support import (
    ACCOUNT,
    ALLOCATION_ID,
    HOME,
    allocations_of,
    api_error,
    message,
    tag_spec,
)


@pytest.fixture
def pool(world):
    """A pool with a locale and 10.0.0.0/16, taking allocations of /16 to /28."""
    return world.provisioned_pool(
        "10.0.0.0/16", Locale=HOME, AllocationMinNetmaskLength=16, AllocationMaxNetmaskLength=28
    )


def allocate(ec2, pool_id, **params):
    return ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, **params)["IpamPoolAllocation"]


def test_allocate_a_netmask_length(ec2, pool):
    allocation = allocate(ec2, pool, NetmaskLength=24, Description="web VPC")

    assert allocation["Cidr"] == "10.0.0.0/24"
    assert ALLOCATION_ID.match(allocation["IpamPoolAllocationId"])
    assert allocation["ResourceType"] == "custom"
    assert allocation["ResourceOwner"] == ACCOUNT
    assert allocation["Description"] == "web VPC"
    assert allocations_of(ec2, pool) == [allocation]


def test_allocations_take_the_lowest_free_block(ec2, pool):
    got = [allocate(ec2, pool, NetmaskLength=n)["Cidr"] for n in (24, 24, 23, 28, 25, 22)]

    assert got == [
        "10.0.0.0/24",
        "10.0.1.0/24",
        "10.0.2.0/23",
        "10.0.4.0/28",
        "10.0.4.128/25",
        "10.0.8.0/22",
    ]


def test_released_space_is_used_again_first(ec2, pool):
    first, second = (allocate(ec2, pool, NetmaskLength=24) for _ in range(2))
    ec2.release_ipam_pool_allocation(
        IpamPoolId=pool, IpamPoolAllocationId=first["IpamPoolAllocationId"], Cidr=first["Cidr"]
    )

    assert allocate(ec2, pool, NetmaskLength=25)["Cidr"] == "10.0.0.0/25"
    assert second["Cidr"] == "10.0.1.0/24"


def test_allocations_never_overlap(ec2, world):
    pool_id = world.provisioned_pool("10.0.0.0/20", Locale=HOME)
    world.sim.call("ProvisionIpamPoolCidr", IpamPoolId=pool_id, Cidr="10.1.0.0/22")
    rng = random.Random(7)
    taken, refusals = [], set()
    for _ in range(40):
        try:
            answer = allocate(ec2, pool_id, NetmaskLength=rng.randint(24, 28))
        except ClientError as err:
            refusals.add(err.response["Error"]["Code"])
        else:
            taken.append(IPNetwork(answer["Cidr"]))

    assert refusals <= {"InsufficientCidrBlocks"}
    assert len(taken) > 20
    for i, one in enumerate(taken):
        assert one in IPNetwork("10.0.0.0/20") or one in IPNetwork("10.1.0.0/22")
        for other in taken[i + 1 :]:
            assert one.last < other.first or other.last < one.first, (one, other)


def test_allocate_a_given_cidr(ec2, pool):
    allocation = allocate(ec2, pool, Cidr="10.0.7.0/24")

    assert allocation["Cidr"] == "10.0.7.0/24"
    assert allocate(ec2, pool, NetmaskLength=22)["Cidr"] == "10.0.0.0/22"
    assert allocate(ec2, pool, NetmaskLength=22)["Cidr"] == "10.0.8.0/22"


@pytest.mark.parametrize(
    "cidr",
    ["10.0.7.0/24", "10.0.7.128/25", "10.0.0.0/16"],
    ids=["same", "inside", "around"],
)
def test_a_given_cidr_must_be_free(ec2, pool, cidr):
    allocate(ec2, pool, Cidr="10.0.7.0/24")

    with api_error("InvalidParameterValue"):
        allocate(ec2, pool, Cidr=cidr)


@pytest.mark.parametrize(
    "cidr", ["10.1.0.0/24", "10.0.0.0/15", "10.0.0.0/29", "10.0.0.1/24", "fd00::/64", "x"]
)
def test_a_given_cidr_must_fit_the_pool(ec2, pool, cidr):
    with api_error("InvalidParameterValue"):
        allocate(ec2, pool, Cidr=cidr)


@pytest.mark.parametrize("length", [15, 29])
def test_a_netmask_length_must_fit_the_pools_range(ec2, pool, length):
    with api_error("InvalidParameterValue"):
        allocate(ec2, pool, NetmaskLength=length)


def test_cidr_and_netmask_length_together_are_refused(ec2, pool):
    with api_error("InvalidParameterCombination"):
        allocate(ec2, pool, Cidr="10.0.0.0/24", NetmaskLength=24)


def test_the_pools_default_netmask_length(ec2, world):
    pool_id = world.provisioned_pool("10.0.0.0/16", Locale=HOME, AllocationDefaultNetmaskLength=26)

    assert allocate(ec2, pool_id)["Cidr"] == "10.0.0.0/26"


def test_without_a_default_the_request_needs_a_size(ec2, pool):
    """C8, in AWS's words."""
    with api_error("InvalidParameterCombination") as refused:
        allocate(ec2, pool)
    assert refused.value.response["Error"]["Message"] == (
        "The request cannot contain empty CIDR and Netmask Length for a pool with no default "
        "allocation netmask length set. Exactly one of them should be provided."
    )


def test_allowed_cidrs(ec2, pool):
    allowed = allocate(ec2, pool, NetmaskLength=24, AllowedCidrs=["10.0.128.0/17"])
    narrow = allocate(ec2, pool, NetmaskLength=26, AllowedCidrs=["10.0.200.64/26", "10.0.201.0/24"])

    assert allowed["Cidr"] == "10.0.128.0/24"
    assert narrow["Cidr"] == "10.0.200.64/26"


def test_disallowed_cidrs_aws_example(ec2, world):
    pool_id = world.provisioned_pool("172.2.0.0/24", Locale=HOME)

    allocation = allocate(ec2, pool_id, NetmaskLength=28, DisallowedCidrs=["172.2.0.0/28"])

    assert allocation["Cidr"] == "172.2.0.16/28"


def test_allowed_and_disallowed_cidrs_together(ec2, pool):
    allocation = allocate(
        ec2,
        pool,
        NetmaskLength=24,
        AllowedCidrs=["10.0.16.0/20"],
        DisallowedCidrs=["10.0.16.0/22", "10.0.20.0/24"],
    )

    assert allocation["Cidr"] == "10.0.21.0/24"


def test_no_block_left_in_the_allowed_space(ec2, pool):
    with api_error("InsufficientCidrBlocks"):
        allocate(ec2, pool, NetmaskLength=24, AllowedCidrs=["10.0.0.0/25"])


@pytest.mark.parametrize("member", ["AllowedCidrs", "DisallowedCidrs"])
def test_allowed_and_disallowed_cidrs_only_with_a_netmask_length(ec2, pool, member):
    with api_error("InvalidParameterCombination"):
        allocate(ec2, pool, Cidr="10.0.0.0/24", **{member: ["10.0.0.0/20"]})


def test_allowed_cidrs_must_be_cidrs(ec2, pool):
    with api_error("InvalidParameterValue"):
        allocate(ec2, pool, NetmaskLength=24, AllowedCidrs=["10.0.0.0"])


def test_preview_next_cidr_allocates_nothing(ec2, pool):
    preview = allocate(ec2, pool, NetmaskLength=24, PreviewNextCidr=True)

    assert preview["Cidr"] == "10.0.0.0/24"
    assert allocations_of(ec2, pool) == []
    assert allocate(ec2, pool, NetmaskLength=24)["Cidr"] == preview["Cidr"]
    assert allocate(ec2, pool, NetmaskLength=24, PreviewNextCidr=True)["Cidr"] == "10.0.1.0/24"


def test_a_full_pool_has_no_free_block(ec2, world):
    pool_id = world.provisioned_pool("10.0.0.0/24", Locale=HOME)
    allocate(ec2, pool_id, NetmaskLength=25)
    allocate(ec2, pool_id, NetmaskLength=25)

    with api_error("InsufficientCidrBlocks"):
        allocate(ec2, pool_id, NetmaskLength=28)


def test_a_pool_without_space_has_no_free_block(ec2, world):
    pool_id = world.pool(Locale=HOME)

    with api_error("InsufficientCidrBlocks"):
        allocate(ec2, pool_id, NetmaskLength=24)


def test_a_pool_without_a_locale_allocates(ec2, world):
    """C9: AWS's CLI example allocates from a pool whose Locale is None."""
    pool_id = world.provisioned_pool("10.0.0.0/16")

    assert allocate(ec2, pool_id, NetmaskLength=24)["ResourceType"] == "custom"


def test_allocate_from_an_unknown_pool_is_not_found(ec2, world):
    with api_error("InvalidIpamPoolId.NotFound"):
        allocate(ec2, "ipam-pool-0123456789abcdef0", NetmaskLength=24)


def test_allocation_tags(ec2, pool):
    tagged = allocate(
        ec2,
        pool,
        NetmaskLength=24,
        TagSpecifications=tag_spec("ipam-pool-allocation", Name="web"),
    )

    assert tagged["Tags"] == [{"Key": "Name", "Value": "web"}]
    with api_error("InvalidParameterValue"):
        allocate(ec2, pool, NetmaskLength=24, TagSpecifications=tag_spec("ipam-pool", a="b"))


def test_allocate_replays_its_client_token(ec2, pool):
    first = allocate(ec2, pool, NetmaskLength=24, ClientToken="alloc-1")
    again = allocate(ec2, pool, NetmaskLength=24, ClientToken="alloc-1")

    assert again["IpamPoolAllocationId"] == first["IpamPoolAllocationId"]
    assert len(allocations_of(ec2, pool)) == 1
    with api_error("IdempotentParameterMismatch"):
        allocate(ec2, pool, NetmaskLength=25, ClientToken="alloc-1")


def test_allocate_and_release_from_the_pools_locale(make_client, world):
    pool_id = world.provisioned_pool("10.0.0.0/16", Locale="us-west-2")
    west = make_client("us-west-2")

    allocation = west.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=24)[
        "IpamPoolAllocation"
    ]
    listed = west.get_ipam_pool_allocations(IpamPoolId=pool_id)["IpamPoolAllocations"]
    released = west.release_ipam_pool_allocation(
        IpamPoolId=pool_id,
        IpamPoolAllocationId=allocation["IpamPoolAllocationId"],
        Cidr=allocation["Cidr"],
    )

    assert listed == [allocation]
    assert released["Success"] is True
    with api_error("InvalidIpamPoolId.NotFound"):
        west.describe_ipam_pools(IpamPoolIds=[pool_id])
    with api_error("InvalidIpamPoolId.NotFound"):
        make_client("eu-west-1").allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=24)


# --- GetIpamPoolAllocations ---------------------------------------------------------------------


def test_get_one_allocation_by_id(ec2, pool):
    first = allocate(ec2, pool, NetmaskLength=24)
    allocate(ec2, pool, NetmaskLength=24)

    found = ec2.get_ipam_pool_allocations(
        IpamPoolId=pool, IpamPoolAllocationId=first["IpamPoolAllocationId"]
    )["IpamPoolAllocations"]

    assert found == [first]


def test_get_an_unknown_allocation_is_not_found(ec2, pool):
    unknown = "ipam-pool-alloc-0123456789abcdef0123456789abcdef0"

    with api_error("InvalidIpamPoolAllocationId.NotFound") as info:
        ec2.get_ipam_pool_allocations(IpamPoolId=pool, IpamPoolAllocationId=unknown)
    assert message(info) == f"The IPAM pool allocation ({unknown}) does not exist."


def test_get_allocations_filters(ec2, world, pool):
    web = allocate(ec2, pool, NetmaskLength=24, Description="web VPC")
    data = allocate(ec2, pool, NetmaskLength=20, Description="data VPC")
    child = world.pool(SourceIpamPoolId=pool, Locale=HOME)
    world.sim.call("ProvisionIpamPoolCidr", IpamPoolId=child, Cidr="10.0.128.0/18")

    def cidrs(name, *values):
        found = ec2.get_ipam_pool_allocations(
            IpamPoolId=pool, Filters=[{"Name": name, "Values": list(values)}]
        )["IpamPoolAllocations"]
        return [a["Cidr"] for a in found]

    assert cidrs("ipam-pool-allocation-id", data["IpamPoolAllocationId"]) == [data["Cidr"]]
    assert cidrs("resource-type", "custom") == [web["Cidr"], data["Cidr"]]
    assert cidrs("resource-type", "ipam-pool") == ["10.0.128.0/18"]
    assert cidrs("resource-id", child) == ["10.0.128.0/18"]
    assert cidrs("description", "*VPC") == [web["Cidr"], data["Cidr"]]
    assert cidrs("cidr", "10.0.0.*") == [web["Cidr"]]


def test_get_allocations_max_results_bounds(ec2, pool):
    with pytest.raises(ParamValidationError):
        ec2.get_ipam_pool_allocations(IpamPoolId=pool, MaxResults=999)
    with api_error("InvalidParameterValue"):
        ec2.get_ipam_pool_allocations(IpamPoolId=pool, MaxResults=100001)


def test_get_allocations_paginates_by_the_thousand(local, world):
    ec2 = local
    pool_id = world.provisioned_pool("10.0.0.0/16", Locale=HOME)
    for n in range(1001):
        world.sim.call(
            "AllocateIpamPoolCidr", IpamPoolId=pool_id, Cidr=f"10.0.{n // 256}.{n % 256}/32"
        )

    pages = list(
        ec2.get_paginator("get_ipam_pool_allocations").paginate(
            IpamPoolId=pool_id, PaginationConfig={"PageSize": 1000}
        )
    )

    assert [len(p["IpamPoolAllocations"]) for p in pages] == [1000, 1]
    ids = [a["IpamPoolAllocationId"] for p in pages for a in p["IpamPoolAllocations"]]
    assert len(set(ids)) == 1001


# --- ReleaseIpamPoolAllocation ------------------------------------------------------------------


def test_release_an_allocation(ec2, pool):
    allocation = allocate(ec2, pool, NetmaskLength=24)

    answer = ec2.release_ipam_pool_allocation(
        IpamPoolId=pool,
        IpamPoolAllocationId=allocation["IpamPoolAllocationId"],
        Cidr=allocation["Cidr"],
    )

    assert answer["Success"] is True
    assert allocations_of(ec2, pool) == []


@pytest.mark.parametrize("wrong", ["id", "cidr", "twice"])
def test_release_what_is_not_there(ec2, pool, wrong):
    allocation = allocate(ec2, pool, NetmaskLength=24)
    allocation_id, cidr = allocation["IpamPoolAllocationId"], allocation["Cidr"]
    if wrong == "id":
        allocation_id = "ipam-pool-alloc-0123456789abcdef0123456789abcdef0"
    elif wrong == "cidr":
        cidr = "10.0.1.0/24"
    else:
        ec2.release_ipam_pool_allocation(
            IpamPoolId=pool, IpamPoolAllocationId=allocation_id, Cidr=cidr
        )

    with api_error("InvalidParameterCombination") as info:
        ec2.release_ipam_pool_allocation(
            IpamPoolId=pool, IpamPoolAllocationId=allocation_id, Cidr=cidr
        )
    assert "No allocation found" in message(info)


def test_release_an_allocation_of_another_pool(ec2, world, pool):
    other = world.provisioned_pool("10.1.0.0/16", Locale=HOME)
    allocation = allocate(ec2, other, NetmaskLength=24)

    with api_error("InvalidParameterCombination") as info:
        ec2.release_ipam_pool_allocation(
            IpamPoolId=pool,
            IpamPoolAllocationId=allocation["IpamPoolAllocationId"],
            Cidr=allocation["Cidr"],
        )
    assert "No allocation found" in message(info)


def test_only_custom_allocations_can_be_released(ec2, world, pool):
    child = world.pool(SourceIpamPoolId=pool, Locale=HOME)
    ec2.provision_ipam_pool_cidr(IpamPoolId=child, Cidr="10.0.0.0/20")
    (held,) = allocations_of(ec2, pool)

    with api_error("InvalidParameterCombination"):
        ec2.release_ipam_pool_allocation(
            IpamPoolId=pool, IpamPoolAllocationId=held["IpamPoolAllocationId"], Cidr=held["Cidr"]
        )


def test_release_needs_every_member(ec2, pool):
    with pytest.raises(ParamValidationError):
        ec2.release_ipam_pool_allocation(IpamPoolId=pool, Cidr="10.0.0.0/24")


def test_release_names_the_cidr_as_allocated(ec2, world):
    pool_id = world.provisioned_pool("fd00:ec2::/48", AddressFamily="ipv6", Locale=HOME)
    allocation = allocate(ec2, pool_id, Cidr="FD00:0EC2::/64")

    answer = ec2.release_ipam_pool_allocation(
        IpamPoolId=pool_id,
        IpamPoolAllocationId=allocation["IpamPoolAllocationId"],
        Cidr="FD00:0EC2::/64",
    )

    assert allocation["Cidr"] == "fd00:ec2::/64"
    assert answer["Success"] is True
