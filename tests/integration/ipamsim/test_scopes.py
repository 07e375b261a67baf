"""CreateIpamScope, DescribeIpamScopes, DeleteIpamScope."""

from __future__ import annotations

import ipamsim
from tests.integration.ipamsim.support import (
    ACCOUNT,
    HOME,
    SCOPE_ID,
    api_error,
    tag_spec,
    tags_of,
)


def test_create_ipam_scope_is_private_and_not_default(ec2, world):
    scope = ec2.create_ipam_scope(
        IpamId=world.ipam_id,
        Description="Example description",
        TagSpecifications=tag_spec("ipam-scope", Name="Example name value"),
    )["IpamScope"]

    assert SCOPE_ID.match(scope["IpamScopeId"])
    assert scope["IpamScopeArn"] == f"arn:aws:ec2::{ACCOUNT}:ipam-scope/{scope['IpamScopeId']}"
    assert scope["IpamArn"] == f"arn:aws:ec2::{ACCOUNT}:ipam/{world.ipam_id}"
    assert scope["IpamRegion"] == HOME
    assert scope["IpamScopeType"] == "private"
    assert scope["IsDefault"] is False
    assert scope["PoolCount"] == 0
    assert scope["State"] == "create-in-progress"
    assert scope["Description"] == "Example description"
    assert tags_of(scope) == {"Name": "Example name value"}


def test_create_ipam_scope_for_an_unknown_ipam_is_not_found(ec2, sim):
    with api_error("InvalidIpamId.NotFound"):
        ec2.create_ipam_scope(IpamId="ipam-0123456789abcdef0")


def test_create_ipam_scope_tags_must_be_for_a_scope(ec2, world):
    with api_error("InvalidParameterValue"):
        ec2.create_ipam_scope(IpamId=world.ipam_id, TagSpecifications=tag_spec("ipam", a="b"))


def test_an_ipam_has_at_most_five_scopes(ec2, world):
    for _ in range(3):
        ec2.create_ipam_scope(IpamId=world.ipam_id)

    with api_error("MaxIpamScopeLimitExceeded"):
        ec2.create_ipam_scope(IpamId=world.ipam_id)


def test_the_scope_quota_is_a_setting(ec2, use_sim):
    sim = use_sim(ipamsim.Config(create_delay=0, max_scopes_per_ipam=3))
    ipam_id = sim.call("CreateIpam")["Ipam"]["IpamId"]
    ec2.create_ipam_scope(IpamId=ipam_id)

    with api_error("MaxIpamScopeLimitExceeded"):
        ec2.create_ipam_scope(IpamId=ipam_id)


def test_describe_ipam_scopes_filters_by_ipam_and_owner(ec2, world):
    other_ipam = ec2.create_ipam()["Ipam"]
    custom = world.scope(Description="custom scope")

    def ids(*filters):
        found = ec2.describe_ipam_scopes(Filters=list(filters))["IpamScopes"]
        return {s["IpamScopeId"] for s in found}

    mine = {world.private_scope, world.public_scope, custom}
    theirs = {other_ipam["PrivateDefaultScopeId"], other_ipam["PublicDefaultScopeId"]}
    assert ids({"Name": "ipam-id", "Values": [world.ipam_id]}) == mine
    assert ids({"Name": "owner-id", "Values": [ACCOUNT]}) == mine | theirs
    assert (
        ids(
            {"Name": "owner-id", "Values": [ACCOUNT]},
            {"Name": "ipam-id", "Values": [other_ipam["IpamId"]]},
        )
        == theirs
    )
    assert ids({"Name": "ipam-id", "Values": [world.ipam_id, other_ipam["IpamId"]]}) == (
        mine | theirs
    )
    assert ids({"Name": "ipam-scope-type", "Values": ["public"]}) == {
        world.public_scope,
        other_ipam["PublicDefaultScopeId"],
    }
    assert ids({"Name": "description", "Values": ["custom*"]}) == {custom}
    assert ids({"Name": "is-default", "Values": ["false"]}) == {custom}


def test_describe_ipam_scopes_counts_pools(ec2, world):
    world.pool()
    world.pool(AddressFamily="ipv6")

    scope = ec2.describe_ipam_scopes(IpamScopeIds=[world.private_scope])["IpamScopes"][0]

    assert scope["PoolCount"] == 2
    assert scope["State"] == "create-complete"


def test_describe_ipam_scopes_with_an_unknown_id_is_not_found(ec2, world):
    with api_error("InvalidIpamScopeId.NotFound"):
        ec2.describe_ipam_scopes(IpamScopeIds=["ipam-scope-0123456789abcdef0"])


def test_delete_ipam_scope(ec2, world):
    scope_id = world.scope(Description="Example description")

    deleted = ec2.delete_ipam_scope(IpamScopeId=scope_id)["IpamScope"]

    assert deleted["State"] == "delete-in-progress"
    assert deleted["PoolCount"] == 0
    assert ec2.describe_ipams(IpamIds=[world.ipam_id])["Ipams"][0]["ScopeCount"] == 2


def test_default_scopes_cannot_be_deleted(ec2, world):
    for scope_id in (world.private_scope, world.public_scope):
        with api_error("InvalidParameterCombination"):
            ec2.delete_ipam_scope(IpamScopeId=scope_id)


def test_a_scope_with_pools_cannot_be_deleted(ec2, world):
    scope_id = world.scope()
    world.pool(scope_id)

    with api_error("IncorrectState"):
        ec2.delete_ipam_scope(IpamScopeId=scope_id)


def test_delete_unknown_scope_is_not_found(ec2, sim):
    with api_error("InvalidIpamScopeId.NotFound"):
        ec2.delete_ipam_scope(IpamScopeId="ipam-scope-0123456789abcdef0")


def test_a_scope_whose_pools_are_deleted_can_be_deleted(ec2, world):
    scope_id = world.scope()
    pool_id = world.pool(scope_id)
    ec2.delete_ipam_pool(IpamPoolId=pool_id)

    assert ec2.delete_ipam_scope(IpamScopeId=scope_id)["IpamScope"]["State"] == (
        "delete-in-progress"
    )
