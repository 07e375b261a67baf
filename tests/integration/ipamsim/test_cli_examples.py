"""The AWS CLI's documented examples for these operations, which show real AWS output.

Each test sends the example's request and checks that the answer has every member the example
shows, with the same value wherever the value does not depend on a generated id (ids and ARNs
must have the same shape). Members the example leaves out may be present.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import ipamsim
from tests.integration.ipamsim.support import make_world, tag_spec

_ID = re.compile(r"(ipam(?:-scope|-pool(?:-alloc)?)?)-([0-9a-f]{17,33})")


def _shape(text: str) -> re.Pattern[str]:
    """A pattern for a value with its ids replaced by ids of the same kind and length."""
    parts, last = [], 0
    for match in _ID.finditer(text):
        parts.append(re.escape(text[last : match.start()]))
        parts.append(f"{re.escape(match[1])}-[0-9a-f]{{{len(match[2])}}}")
        last = match.end()
    parts.append(re.escape(text[last:]))
    return re.compile("".join(parts) + r"\Z")


def assert_like(actual: Any, example: Any, path: str = "") -> None:
    if isinstance(example, dict):
        assert isinstance(actual, dict), path
        for key, value in example.items():
            assert key in actual, f"{path}.{key} is missing"
            assert_like(actual[key], value, f"{path}.{key}")
    elif isinstance(example, list):
        assert isinstance(actual, list), path
        assert len(actual) == len(example), (path, actual)
        for n, (got, wanted) in enumerate(zip(actual, example, strict=True)):
            assert_like(got, wanted, f"{path}[{n}]")
    elif isinstance(example, str) and _ID.search(example):
        assert isinstance(actual, str), path
        assert _shape(example).match(actual), (path, actual)
    else:
        assert actual == example, (path, actual, example)


def answer(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


@pytest.fixture
def example_ipam(sim):
    """The IPAM the examples share: home us-east-1, operating in us-east-2 and us-west-1."""
    return sim.call(
        "CreateIpam",
        OperatingRegions=[{"RegionName": r} for r in ("us-east-1", "us-east-2", "us-west-1")],
        TagSpecifications=tag_spec("ipam", Name="ExampleIPAM"),
    )["Ipam"]


@pytest.fixture
def preprod_pool(sim, example_ipam):
    """The pool of the create-ipam-pool example."""
    return sim.call(
        "CreateIpamPool",
        IpamScopeId=example_ipam["PrivateDefaultScopeId"],
        AddressFamily="ipv4",
        AutoImport=True,
        AllocationMinNetmaskLength=16,
        AllocationMaxNetmaskLength=26,
        AllocationDefaultNetmaskLength=24,
        AllocationResourceTags=[{"Key": "Environment", "Value": "Preprod"}],
        TagSpecifications=tag_spec("ipam-pool", Name="Preprod pool"),
    )["IpamPool"]["IpamPoolId"]


def test_create_ipam(ec2):
    response = ec2.create_ipam(
        Description="Example description",
        OperatingRegions=[{"RegionName": "us-east-2"}, {"RegionName": "us-west-1"}],
        TagSpecifications=tag_spec("ipam", Name="ExampleIPAM"),
    )

    assert_like(
        answer(response),
        {
            "Ipam": {
                "OwnerId": "123456789012",
                "IpamId": "ipam-036486dfa6af58ee0",
                "IpamArn": "arn:aws:ec2::123456789012:ipam/ipam-036486dfa6af58ee0",
                "IpamRegion": "us-east-1",
                "PublicDefaultScopeId": "ipam-scope-071b8042b0195c183",
                "PrivateDefaultScopeId": "ipam-scope-0807405dece705a30",
                "ScopeCount": 2,
                "OperatingRegions": [
                    {"RegionName": "us-east-2"},
                    {"RegionName": "us-west-1"},
                    {"RegionName": "us-east-1"},
                ],
                "State": "create-in-progress",
                "Tags": [{"Key": "Name", "Value": "ExampleIPAM"}],
            }
        },
    )


def test_describe_ipams(ec2, sim, example_ipam):
    sim.call("CreateIpamScope", IpamId=example_ipam["IpamId"], Description="Example description")

    response = ec2.describe_ipams(Filters=[{"Name": "owner-id", "Values": ["123456789012"]}])

    assert_like(
        answer(response),
        {
            "Ipams": [
                {
                    "OwnerId": "123456789012",
                    "IpamId": "ipam-08440e7a3acde3908",
                    "IpamArn": "arn:aws:ec2::123456789012:ipam/ipam-08440e7a3acde3908",
                    "IpamRegion": "us-east-1",
                    "PublicDefaultScopeId": "ipam-scope-0b9eed026396dbc16",
                    "PrivateDefaultScopeId": "ipam-scope-02fc38cd4c48e7d38",
                    "ScopeCount": 3,
                    "OperatingRegions": [
                        {"RegionName": "us-east-1"},
                        {"RegionName": "us-east-2"},
                        {"RegionName": "us-west-1"},
                    ],
                    "State": "create-complete",
                    "Tags": [{"Key": "Name", "Value": "ExampleIPAM"}],
                }
            ]
        },
    )


def test_modify_ipam(ec2, sim, example_ipam):
    sim.call("CreateIpamScope", IpamId=example_ipam["IpamId"])

    response = ec2.modify_ipam(
        IpamId=example_ipam["IpamId"], AddOperatingRegions=[{"RegionName": "us-west-2"}]
    )

    assert_like(
        answer(response),
        {
            "Ipam": {
                "OwnerId": "123456789012",
                "IpamId": "ipam-08440e7a3acde3908",
                "IpamArn": "arn:aws:ec2::123456789012:ipam/ipam-08440e7a3acde3908",
                "IpamRegion": "us-east-1",
                "PublicDefaultScopeId": "ipam-scope-0b9eed026396dbc16",
                "PrivateDefaultScopeId": "ipam-scope-02fc38cd4c48e7d38",
                "ScopeCount": 3,
                "OperatingRegions": [
                    {"RegionName": "us-east-1"},
                    {"RegionName": "us-east-2"},
                    {"RegionName": "us-west-1"},
                    {"RegionName": "us-west-2"},
                ],
                "State": "modify-in-progress",
            }
        },
    )


def test_delete_ipam(ec2, example_ipam):
    response = ec2.delete_ipam(IpamId=example_ipam["IpamId"])

    assert_like(
        answer(response),
        {
            "Ipam": {
                "OwnerId": "123456789012",
                "IpamId": "ipam-036486dfa6af58ee0",
                "IpamArn": "arn:aws:ec2::123456789012:ipam/ipam-036486dfa6af58ee0",
                "IpamRegion": "us-east-1",
                "PublicDefaultScopeId": "ipam-scope-071b8042b0195c183",
                "PrivateDefaultScopeId": "ipam-scope-0807405dece705a30",
                "ScopeCount": 2,
                "OperatingRegions": [
                    {"RegionName": "us-east-1"},
                    {"RegionName": "us-east-2"},
                    {"RegionName": "us-west-1"},
                ],
                "State": "delete-in-progress",
            }
        },
    )


def test_create_ipam_scope(ec2, example_ipam):
    response = ec2.create_ipam_scope(
        IpamId=example_ipam["IpamId"],
        Description="Example description",
        TagSpecifications=tag_spec("ipam-scope", Name="Example name value"),
    )

    assert_like(
        answer(response),
        {
            "IpamScope": {
                "OwnerId": "123456789012",
                "IpamScopeId": "ipam-scope-01c1ebab2b63bd7e4",
                "IpamScopeArn": "arn:aws:ec2::123456789012:ipam-scope/ipam-scope-01c1ebab2b63bd7e4",
                "IpamArn": "arn:aws:ec2::123456789012:ipam/ipam-08440e7a3acde3908",
                "IpamRegion": "us-east-1",
                "IpamScopeType": "private",
                "IsDefault": False,
                "Description": "Example description",
                "PoolCount": 0,
                "State": "create-in-progress",
                "Tags": [{"Key": "Name", "Value": "Example name value"}],
            }
        },
    )


def test_describe_ipam_scopes(ec2, sim, example_ipam, preprod_pool):
    sim.call(
        "CreateIpamPool", IpamScopeId=example_ipam["PrivateDefaultScopeId"], AddressFamily="ipv4"
    )
    sim.call(
        "CreateIpamScope",
        IpamId=example_ipam["IpamId"],
        Description="Example description",
        TagSpecifications=tag_spec("ipam-scope", Name="Example name value"),
    )

    response = ec2.describe_ipam_scopes(
        Filters=[
            {"Name": "owner-id", "Values": ["123456789012"]},
            {"Name": "ipam-id", "Values": [example_ipam["IpamId"]]},
        ]
    )

    assert_like(
        answer(response),
        {
            "IpamScopes": [
                {
                    "OwnerId": "123456789012",
                    "IpamScopeId": "ipam-scope-02fc38cd4c48e7d38",
                    "IpamScopeArn": (
                        "arn:aws:ec2::123456789012:ipam-scope/ipam-scope-02fc38cd4c48e7d38"
                    ),
                    "IpamArn": "arn:aws:ec2::123456789012:ipam/ipam-08440e7a3acde3908",
                    "IpamRegion": "us-east-1",
                    "IpamScopeType": "private",
                    "IsDefault": True,
                    "PoolCount": 2,
                    "State": "create-complete",
                    "Tags": [],
                },
                {
                    "OwnerId": "123456789012",
                    "IpamScopeId": "ipam-scope-0b9eed026396dbc16",
                    "IpamScopeArn": (
                        "arn:aws:ec2::123456789012:ipam-scope/ipam-scope-0b9eed026396dbc16"
                    ),
                    "IpamArn": "arn:aws:ec2::123456789012:ipam/ipam-08440e7a3acde3908",
                    "IpamRegion": "us-east-1",
                    "IpamScopeType": "public",
                    "IsDefault": True,
                    "PoolCount": 0,
                    "State": "create-complete",
                    "Tags": [],
                },
                {
                    "OwnerId": "123456789012",
                    "IpamScopeId": "ipam-scope-0f1aff29486355c22",
                    "IpamScopeArn": (
                        "arn:aws:ec2::123456789012:ipam-scope/ipam-scope-0f1aff29486355c22"
                    ),
                    "IpamArn": "arn:aws:ec2::123456789012:ipam/ipam-08440e7a3acde3908",
                    "IpamRegion": "us-east-1",
                    "IpamScopeType": "private",
                    "IsDefault": False,
                    "Description": "Example description",
                    "PoolCount": 0,
                    "State": "create-complete",
                    "Tags": [{"Key": "Name", "Value": "Example name value"}],
                },
            ]
        },
    )


def test_delete_ipam_scope(ec2, sim, example_ipam):
    scope = sim.call(
        "CreateIpamScope", IpamId=example_ipam["IpamId"], Description="Example description"
    )["IpamScope"]

    response = ec2.delete_ipam_scope(IpamScopeId=scope["IpamScopeId"])

    assert_like(
        answer(response),
        {
            "IpamScope": {
                "OwnerId": "123456789012",
                "IpamScopeId": "ipam-scope-01c1ebab2b63bd7e4",
                "IpamScopeArn": "arn:aws:ec2::123456789012:ipam-scope/ipam-scope-01c1ebab2b63bd7e4",
                "IpamArn": "arn:aws:ec2::123456789012:ipam/ipam-08440e7a3acde3908",
                "IpamRegion": "us-east-1",
                "IpamScopeType": "private",
                "IsDefault": False,
                "Description": "Example description",
                "PoolCount": 0,
                "State": "delete-in-progress",
            }
        },
    )


PREPROD_POOL = {
    "OwnerId": "123456789012",
    "IpamPoolId": "ipam-pool-0533048da7d823723",
    "IpamPoolArn": "arn:aws:ec2::123456789012:ipam-pool/ipam-pool-0533048da7d823723",
    "IpamScopeArn": "arn:aws:ec2::123456789012:ipam-scope/ipam-scope-02fc38cd4c48e7d38",
    "IpamScopeType": "private",
    "IpamArn": "arn:aws:ec2::123456789012:ipam/ipam-08440e7a3acde3908",
    "IpamRegion": "us-east-1",
    "Locale": "None",
    "PoolDepth": 1,
    "State": "create-in-progress",
    "AutoImport": True,
    "AddressFamily": "ipv4",
    "AllocationMinNetmaskLength": 16,
    "AllocationMaxNetmaskLength": 26,
    "AllocationDefaultNetmaskLength": 24,
    "AllocationResourceTags": [{"Key": "Environment", "Value": "Preprod"}],
    "Tags": [{"Key": "Name", "Value": "Preprod pool"}],
}


def test_create_ipam_pool(ec2, example_ipam):
    response = ec2.create_ipam_pool(
        IpamScopeId=example_ipam["PrivateDefaultScopeId"],
        AddressFamily="ipv4",
        AutoImport=True,
        AllocationMinNetmaskLength=16,
        AllocationMaxNetmaskLength=26,
        AllocationDefaultNetmaskLength=24,
        AllocationResourceTags=[{"Key": "Environment", "Value": "Preprod"}],
        TagSpecifications=tag_spec("ipam-pool", Name="Preprod pool"),
    )

    assert_like(answer(response), {"IpamPool": PREPROD_POOL})


def test_describe_ipam_pools(ec2, example_ipam, preprod_pool):
    response = ec2.describe_ipam_pools(
        Filters=[
            {"Name": "owner-id", "Values": ["123456789012"]},
            {"Name": "ipam-scope-id", "Values": [example_ipam["PrivateDefaultScopeId"]]},
        ]
    )

    assert_like(answer(response), {"IpamPools": [PREPROD_POOL | {"State": "create-complete"}]})


def test_modify_ipam_pool(ec2, preprod_pool):
    response = ec2.modify_ipam_pool(
        IpamPoolId=preprod_pool,
        AddAllocationResourceTags=[{"Key": "Owner", "Value": "Build Team"}],
        ClearAllocationDefaultNetmaskLength=True,
        AllocationMinNetmaskLength=14,
    )

    expected = {k: v for k, v in PREPROD_POOL.items() if k not in ("Tags",)}
    expected |= {
        "State": "modify-complete",
        "AllocationMinNetmaskLength": 14,
        "AllocationResourceTags": [
            {"Key": "Environment", "Value": "Preprod"},
            {"Key": "Owner", "Value": "Build Team"},
        ],
    }
    del expected["AllocationDefaultNetmaskLength"]
    assert_like(answer(response), {"IpamPool": expected})
    assert "AllocationDefaultNetmaskLength" not in response["IpamPool"]


def test_delete_ipam_pool(ec2, use_sim):
    sim = use_sim(ipamsim.Config(create_delay=0, account_id="320805250157"))
    world = make_world(sim)
    pool_id = world.provisioned_pool("10.0.0.0/16", Description="example")

    response = ec2.delete_ipam_pool(IpamPoolId=pool_id, Cascade=True)

    assert_like(
        answer(response),
        {
            "IpamPool": {
                "OwnerId": "320805250157",
                "IpamPoolId": "ipam-pool-050c886a3ca41cd5b",
                "IpamPoolArn": "arn:aws:ec2::320805250157:ipam-pool/ipam-pool-050c886a3ca41cd5b",
                "IpamScopeArn": "arn:aws:ec2::320805250157:ipam-scope/ipam-scope-0a158dde35c51107b",
                "IpamScopeType": "private",
                "IpamArn": "arn:aws:ec2::320805250157:ipam/ipam-005f921c17ebd5107",
                "IpamRegion": "us-east-1",
                "Locale": "None",
                "PoolDepth": 1,
                "State": "delete-in-progress",
                "Description": "example",
                "AutoImport": False,
                "AddressFamily": "ipv4",
                "AllocationMinNetmaskLength": 0,
                "AllocationMaxNetmaskLength": 32,
            }
        },
    )


def test_provision_ipam_pool_cidr(ec2, preprod_pool):
    response = ec2.provision_ipam_pool_cidr(IpamPoolId=preprod_pool, Cidr="10.0.0.0/24")

    assert_like(
        answer(response), {"IpamPoolCidr": {"Cidr": "10.0.0.0/24", "State": "pending-provision"}}
    )


def test_get_ipam_pool_cidrs(ec2, sim, preprod_pool):
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=preprod_pool, Cidr="10.0.0.0/24")

    response = ec2.get_ipam_pool_cidrs(
        IpamPoolId=preprod_pool, Filters=[{"Name": "cidr", "Values": ["10.*"]}]
    )

    # The example prints a single "IpamPoolCidr"; the operation's output is the list.
    assert_like(
        answer(response), {"IpamPoolCidrs": [{"Cidr": "10.0.0.0/24", "State": "provisioned"}]}
    )


def test_deprovision_ipam_pool_cidr(ec2, sim, preprod_pool):
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=preprod_pool, Cidr="11.0.0.0/16")

    response = ec2.deprovision_ipam_pool_cidr(IpamPoolId=preprod_pool, Cidr="11.0.0.0/16")

    assert_like(
        answer(response), {"IpamPoolCidr": {"Cidr": "11.0.0.0/16", "State": "pending-deprovision"}}
    )


@pytest.fixture
def pool_with_locale(sim, example_ipam):
    pool_id = sim.call(
        "CreateIpamPool",
        IpamScopeId=example_ipam["PrivateDefaultScopeId"],
        AddressFamily="ipv4",
        Locale="us-east-1",
    )["IpamPool"]["IpamPoolId"]
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=pool_id, Cidr="10.0.0.0/8")
    return pool_id


def test_allocate_ipam_pool_cidr(ec2, pool_with_locale):
    response = ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_with_locale, NetmaskLength=24)

    assert_like(
        answer(response),
        {
            "IpamPoolAllocation": {
                "Cidr": "10.0.0.0/24",
                "IpamPoolAllocationId": "ipam-pool-alloc-018ecc28043b54ba38e2cd99943cebfbd",
                "ResourceType": "custom",
                "ResourceOwner": "123456789012",
            }
        },
    )


def test_get_ipam_pool_allocations(ec2, sim, pool_with_locale):
    made = sim.call("AllocateIpamPoolCidr", IpamPoolId=pool_with_locale, NetmaskLength=16)
    sim.call("AllocateIpamPoolCidr", IpamPoolId=pool_with_locale, NetmaskLength=16)
    allocation_id = made["IpamPoolAllocation"]["IpamPoolAllocationId"]

    response = ec2.get_ipam_pool_allocations(
        IpamPoolId=pool_with_locale,
        Filters=[{"Name": "ipam-pool-allocation-id", "Values": [allocation_id]}],
    )

    assert_like(
        answer(response),
        {
            "IpamPoolAllocations": [
                {
                    "Cidr": "10.0.0.0/16",
                    "IpamPoolAllocationId": "ipam-pool-alloc-0e6186d73999e47389266a5d6991e6220",
                    "ResourceType": "custom",
                    "ResourceOwner": "123456789012",
                }
            ]
        },
    )


def test_release_ipam_pool_allocation(make_client, sim, example_ipam):
    pool_id = sim.call(
        "CreateIpamPool",
        IpamScopeId=example_ipam["PrivateDefaultScopeId"],
        AddressFamily="ipv4",
        Locale="us-west-1",
    )["IpamPool"]["IpamPoolId"]
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=pool_id, Cidr="10.0.0.0/16")
    allocation = sim.call("AllocateIpamPoolCidr", IpamPoolId=pool_id, Cidr="10.0.0.0/23")
    allocation_id = allocation["IpamPoolAllocation"]["IpamPoolAllocationId"]

    response = make_client("us-west-1").release_ipam_pool_allocation(
        IpamPoolId=pool_id, Cidr="10.0.0.0/23", IpamPoolAllocationId=allocation_id
    )

    assert answer(response) == {"Success": True}
