"""CreateTags and DeleteTags on IPAM pools, and ModifyIpamPool's states."""

from __future__ import annotations

import pytest

from tests.integration.ipamsim.support import api_error, message, tag_spec, tags_of


def pool_tags(ec2, pool_id: str) -> dict[str, str]:
    return tags_of(ec2.describe_ipam_pools(IpamPoolIds=[pool_id])["IpamPools"][0])


def test_create_tags_adds_and_overwrites(ec2, world):
    pool_id = world.pool(TagSpecifications=tag_spec("ipam-pool", Name="a", env="dev"))
    other = world.pool()

    answer = ec2.create_tags(
        Resources=[pool_id, other], Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team"}]
    )

    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert pool_tags(ec2, pool_id) == {"Name": "a", "env": "prod", "team": ""}
    assert pool_tags(ec2, other) == {"env": "prod", "team": ""}


def test_delete_tags_by_key_by_key_and_value_or_all(ec2, world):
    pool_id = world.pool(TagSpecifications=tag_spec("ipam-pool", a="1", b="2", c="", d="4"))

    ec2.delete_tags(Resources=[pool_id], Tags=[{"Key": "a"}, {"Key": "b", "Value": "other"}])
    assert pool_tags(ec2, pool_id) == {"b": "2", "c": "", "d": "4"}  # b's value differs
    ec2.delete_tags(Resources=[pool_id], Tags=[{"Key": "c", "Value": ""}, {"Key": "missing"}])
    assert pool_tags(ec2, pool_id) == {"b": "2", "d": "4"}
    ec2.delete_tags(Resources=[pool_id])
    assert pool_tags(ec2, pool_id) == {}


@pytest.mark.parametrize("resource", ["vpc-0123456789abcdef0", "ipam-pool-xyz", "", "i-1"])
def test_an_id_that_names_no_pool_is_invalid(ec2, world, resource):
    with api_error("InvalidID") as info:
        ec2.create_tags(Resources=[resource], Tags=[{"Key": "a", "Value": "b"}])
    assert resource in message(info)
    with api_error("InvalidID"):
        ec2.delete_tags(Resources=[resource])


def test_an_unknown_pool_is_not_found_and_nothing_is_tagged(ec2, world):
    pool_id = world.pool()

    with api_error("InvalidIpamPoolId.NotFound"):
        ec2.create_tags(
            Resources=[pool_id, "ipam-pool-0123456789abcdef0"], Tags=[{"Key": "a", "Value": "b"}]
        )

    assert pool_tags(ec2, pool_id) == {}


@pytest.mark.parametrize(
    ("tags", "code"),
    [
        ([{"Key": "aws:x", "Value": ""}], "InvalidParameterValue"),
        ([{"Key": "k" * 129, "Value": ""}], "InvalidParameterValue"),
        ([{"Key": "k", "Value": "v" * 257}], "InvalidParameterValue"),
        ([{"Key": "", "Value": "v"}], "InvalidParameterValue"),
        ([{"Key": f"k{n}", "Value": ""} for n in range(51)], "InvalidParameterValue"),
    ],
)
def test_create_tags_keeps_to_the_tag_rules(ec2, world, tags, code):
    pool_id = world.pool()

    with api_error(code):
        ec2.create_tags(Resources=[pool_id], Tags=tags)

    assert pool_tags(ec2, pool_id) == {}


def test_a_pool_holds_at_most_fifty_tags(ec2, world):
    pool_id = world.pool()
    ec2.create_tags(Resources=[pool_id], Tags=[{"Key": f"k{n}", "Value": ""} for n in range(50)])

    ec2.create_tags(Resources=[pool_id], Tags=[{"Key": "k0", "Value": "again"}])  # overwrites
    with api_error("TagLimitExceeded"):
        ec2.create_tags(Resources=[pool_id], Tags=[{"Key": "one-more", "Value": ""}])

    assert len(pool_tags(ec2, pool_id)) == 50


def test_aws_keys_cannot_be_deleted(ec2, world):
    pool_id = world.pool(TagSpecifications=tag_spec("ipam-pool", Name="a"))

    with api_error("InvalidParameterValue"):
        ec2.delete_tags(Resources=[pool_id], Tags=[{"Key": "aws:cloudformation:stack-name"}])


def test_modify_needs_a_usable_pool_and_leaves_it_usable(ec2, world, use_sim):
    import ipamsim

    now = [0.0]
    sim = use_sim(ipamsim.Config(create_delay=5), clock=lambda: now[0])
    ipam = sim.call("CreateIpam")["Ipam"]
    pool_id = sim.call(
        "CreateIpamPool", IpamScopeId=ipam["PrivateDefaultScopeId"], AddressFamily="ipv4"
    )["IpamPool"]["IpamPoolId"]

    with api_error("IncorrectState"):
        ec2.modify_ipam_pool(IpamPoolId=pool_id, Description="too early")
    now[0] = 10.0
    modified = ec2.modify_ipam_pool(IpamPoolId=pool_id, Description="now")["IpamPool"]
    again = ec2.modify_ipam_pool(IpamPoolId=pool_id, AutoImport=True)["IpamPool"]

    assert (modified["State"], again["State"]) == ("modify-complete", "modify-complete")
    child = ec2.create_ipam_pool(
        IpamScopeId=ipam["PrivateDefaultScopeId"], AddressFamily="ipv4", SourceIpamPoolId=pool_id
    )
    assert child["IpamPool"]["SourceIpamPoolId"] == pool_id
