"""CreateIpam, DescribeIpams, ModifyIpam, DeleteIpam, and Regions."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.integration.ipamsim.support import (
    ACCOUNT,
    HOME,
    IPAM_ID,
    SCOPE_ID,
    api_error,
    tag_spec,
    tags_of,
)


def regions_of(ipam):
    return [r["RegionName"] for r in ipam["OperatingRegions"]]


def test_create_ipam_answers_an_ipam_with_two_default_scopes(ec2):
    ipam = ec2.create_ipam(
        Description="Example description",
        OperatingRegions=[{"RegionName": "us-east-2"}, {"RegionName": "us-west-1"}],
        TagSpecifications=tag_spec("ipam", Name="ExampleIPAM"),
    )["Ipam"]

    assert IPAM_ID.match(ipam["IpamId"])
    assert ipam["OwnerId"] == ACCOUNT
    assert ipam["IpamArn"] == f"arn:aws:ec2::{ACCOUNT}:ipam/{ipam['IpamId']}"
    assert ipam["IpamRegion"] == HOME
    assert ipam["State"] == "create-in-progress"
    assert ipam["ScopeCount"] == 2
    assert ipam["Description"] == "Example description"
    assert tags_of(ipam) == {"Name": "ExampleIPAM"}
    assert sorted(regions_of(ipam)) == ["us-east-1", "us-east-2", "us-west-1"]
    scopes = ec2.describe_ipam_scopes(Filters=[{"Name": "ipam-id", "Values": [ipam["IpamId"]]}])
    by_id = {s["IpamScopeId"]: s for s in scopes["IpamScopes"]}
    assert set(by_id) == {ipam["PublicDefaultScopeId"], ipam["PrivateDefaultScopeId"]}
    assert all(SCOPE_ID.match(scope_id) for scope_id in by_id)
    assert by_id[ipam["PublicDefaultScopeId"]]["IpamScopeType"] == "public"
    assert by_id[ipam["PrivateDefaultScopeId"]]["IpamScopeType"] == "private"
    assert all(s["IsDefault"] for s in by_id.values())


def test_create_ipam_adds_the_home_region_once(ec2):
    alone = ec2.create_ipam()["Ipam"]
    named = ec2.create_ipam(OperatingRegions=[{"RegionName": HOME}])["Ipam"]

    assert regions_of(alone) == [HOME]
    assert regions_of(named) == [HOME]


def test_the_home_region_comes_after_the_requested_ones(ec2):
    ipam = ec2.create_ipam(
        OperatingRegions=[{"RegionName": "us-east-2"}, {"RegionName": "us-west-1"}]
    )["Ipam"]

    assert regions_of(ipam) == ["us-east-2", "us-west-1", HOME]


def test_create_ipam_refuses_more_than_50_operating_regions(ec2):
    regions = [{"RegionName": f"us-east-{n}"} for n in range(1, 52)]

    with api_error("InvalidParameterValue"):
        ec2.create_ipam(OperatingRegions=regions)


def test_create_ipam_refuses_a_region_that_is_not_one(ec2):
    with api_error("InvalidParameterValue"):
        ec2.create_ipam(OperatingRegions=[{"RegionName": "moon-base-1x"}])


def test_free_tier_allows_only_the_home_region(ec2):
    free = ec2.create_ipam(Tier="free")["Ipam"]
    assert free["Tier"] == "free"

    with api_error("InvalidParameterCombination"):
        ec2.create_ipam(Tier="free", OperatingRegions=[{"RegionName": "us-west-2"}])


def test_create_ipam_refuses_an_unknown_tier(ec2):
    with api_error("InvalidParameterValue"):
        ec2.create_ipam(Tier="platinum")


def test_create_ipam_tags_must_be_for_an_ipam(ec2):
    with api_error("InvalidParameterValue"):
        ec2.create_ipam(TagSpecifications=tag_spec("ipam-pool", Name="x"))


def test_describe_ipams_lists_and_finds_by_id(ec2):
    first = ec2.create_ipam(Description="first")["Ipam"]["IpamId"]
    second = ec2.create_ipam(Description="second")["Ipam"]["IpamId"]

    everything = ec2.describe_ipams()["Ipams"]
    chosen = ec2.describe_ipams(IpamIds=[second])["Ipams"]

    assert [i["IpamId"] for i in everything] == [first, second]
    assert [i["IpamId"] for i in chosen] == [second]
    assert everything[0]["State"] == "create-complete"


def test_describe_ipams_with_an_unknown_id_is_not_found(ec2, world):
    with api_error("InvalidIpamId.NotFound"):
        ec2.describe_ipams(IpamIds=[world.ipam_id, "ipam-0123456789abcdef0"])


def test_describe_ipams_filters(ec2, world):
    other = ec2.create_ipam(Description="another one")["Ipam"]["IpamId"]

    def ids(*filters):
        return [i["IpamId"] for i in ec2.describe_ipams(Filters=list(filters))["Ipams"]]

    assert ids({"Name": "owner-id", "Values": [ACCOUNT]}) == [world.ipam_id, other]
    assert ids({"Name": "description", "Values": ["another*"]}) == [other]
    assert ids({"Name": "ipam-id", "Values": [world.ipam_id]}) == [world.ipam_id]
    assert ids({"Name": "operating-region", "Values": ["eu-west-1"]}) == [world.ipam_id]
    assert ids({"Name": "tag:Name", "Values": ["test"]}) == [world.ipam_id]
    assert ids({"Name": "owner-id", "Values": ["999999999999"]}) == []


def test_describe_ipams_counts_custom_scopes(ec2, world):
    world.scope(Description="extra")

    ipam = ec2.describe_ipams(IpamIds=[world.ipam_id])["Ipams"][0]

    assert ipam["ScopeCount"] == 3


def test_modify_ipam_adds_and_removes_operating_regions(ec2, world):
    added = ec2.modify_ipam(
        IpamId=world.ipam_id,
        AddOperatingRegions=[{"RegionName": "ap-south-1"}],
        RemoveOperatingRegions=[{"RegionName": "eu-west-1"}],
        Description="changed",
    )["Ipam"]

    assert added["State"] == "modify-in-progress"
    assert regions_of(added) == ["us-east-1", "us-west-2", "ap-south-1"]
    described = ec2.describe_ipams(IpamIds=[world.ipam_id])["Ipams"][0]
    assert described["Description"] == "changed"
    assert described["State"] == "modify-complete"


def test_modify_ipam_cannot_remove_the_home_region(ec2, world):
    with api_error("InvalidParameterCombination"):
        ec2.modify_ipam(IpamId=world.ipam_id, RemoveOperatingRegions=[{"RegionName": HOME}])


def test_modify_ipam_cannot_remove_a_region_a_pool_uses(ec2, world):
    world.pool(Locale="eu-west-1")

    with api_error("InvalidParameterCombination"):
        ec2.modify_ipam(IpamId=world.ipam_id, RemoveOperatingRegions=[{"RegionName": "eu-west-1"}])


def test_modify_ipam_to_free_tier_needs_the_home_region_alone(ec2, world):
    with api_error("InvalidParameterCombination"):
        ec2.modify_ipam(IpamId=world.ipam_id, Tier="free")


def test_modify_unknown_ipam_is_not_found(ec2, sim):
    with api_error("InvalidIpamId.NotFound"):
        ec2.modify_ipam(IpamId="ipam-0123456789abcdef0", Description="x")


def test_delete_ipam_deletes_its_scopes(ec2, world):
    deleted = ec2.delete_ipam(IpamId=world.ipam_id)["Ipam"]

    assert deleted["State"] == "delete-in-progress"
    scopes = ec2.describe_ipam_scopes(IpamScopeIds=[world.private_scope, world.public_scope])
    assert {s["State"] for s in scopes["IpamScopes"]} == {"delete-complete"}
    assert ec2.describe_ipams(IpamIds=[world.ipam_id])["Ipams"][0]["State"] == "delete-complete"


def test_delete_ipam_with_pools_needs_cascade(ec2, world):
    parent = world.provisioned_pool("10.0.0.0/8")
    child = world.pool(SourceIpamPoolId=parent, Locale="us-east-1")

    with api_error("IncorrectState"):
        ec2.delete_ipam(IpamId=world.ipam_id)
    ec2.delete_ipam(IpamId=world.ipam_id, Cascade=True)

    pools = ec2.describe_ipam_pools(IpamPoolIds=[parent, child])["IpamPools"]
    assert {p["State"] for p in pools} == {"delete-complete"}


def test_delete_unknown_ipam_is_not_found(ec2, sim):
    with api_error("InvalidIpamId.NotFound"):
        ec2.delete_ipam(IpamId="ipam-0123456789abcdef0")


def test_an_ipam_is_seen_only_from_its_home_region(make_client, world):
    west = make_client("us-west-2")

    assert west.describe_ipams()["Ipams"] == []
    assert west.describe_ipam_scopes()["IpamScopes"] == []
    assert west.describe_ipam_pools()["IpamPools"] == []
    with api_error("InvalidIpamId.NotFound"):
        west.describe_ipams(IpamIds=[world.ipam_id])
    with api_error("InvalidIpamScopeId.NotFound"):
        west.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4")


def test_an_ipam_created_in_another_region_has_that_home(make_client, sim):
    west = make_client("us-west-2")
    ipam = west.create_ipam()["Ipam"]

    assert ipam["IpamRegion"] == "us-west-2"
    assert regions_of(ipam) == ["us-west-2"]
    assert [i["IpamId"] for i in west.describe_ipams()["Ipams"]] == [ipam["IpamId"]]
    assert make_client().describe_ipams()["Ipams"] == []


@pytest.mark.parametrize("operation", ["create_ipam", "create_ipam_scope"])
def test_creates_replay_their_client_token(ec2, world, operation):
    params = {} if operation == "create_ipam" else {"IpamId": world.ipam_id}
    first = getattr(ec2, operation)(ClientToken="token-1", Description="a", **params)
    again = getattr(ec2, operation)(ClientToken="token-1", Description="a", **params)
    key = "Ipam" if operation == "create_ipam" else "IpamScope"
    id_key = "IpamId" if operation == "create_ipam" else "IpamScopeId"

    assert again[key][id_key] == first[key][id_key]
    with pytest.raises(ClientError) as info:
        getattr(ec2, operation)(ClientToken="token-1", Description="b", **params)
    assert info.value.response["Error"]["Code"] == "IdempotentParameterMismatch"


def test_modify_ipam_cannot_remove_the_region_of_a_local_zone_pool(ec2, world):
    world.pool(world.public_scope, Locale="us-west-2-lax-1")

    with api_error("InvalidParameterCombination"):
        ec2.modify_ipam(IpamId=world.ipam_id, RemoveOperatingRegions=[{"RegionName": "us-west-2"}])
