"""Text XML 1.0 cannot carry: refused in every request, never written in an answer."""

from __future__ import annotations

import pytest

from ipamsim.errors import ApiError
from ipamsim.simulator import RULE_HEADER
from tests.integration.ipamsim.support import (
    api_error,
    error_code,
    message,
    raw_request,
    tag_spec,
)

RULE = "text_not_xml_safe"
# What botocore can send: every C0 control but TAB, LF and CR, and U+FFFE, U+FFFF.
UNSAFE = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\ufffe", "\uffff"]


def refused_rule(info) -> str:
    return info.value.response["ResponseMetadata"]["HTTPHeaders"].get(RULE_HEADER, "")


def snapshot(sim):
    return {kind: dict(objects) for kind, objects in sim.store.objects.items()}


@pytest.mark.parametrize("char", UNSAFE, ids=[f"U+{ord(c):04X}" for c in UNSAFE])
def test_a_pool_description_xml_cannot_carry_is_refused(ec2, world, char):
    before = snapshot(world.sim)

    with api_error("InvalidParameterValue") as info:
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope, AddressFamily="ipv4", Description=f"bad{char}text"
        )

    assert refused_rule(info) == RULE
    assert message(info) == (
        f"Description contains a character AWS cannot carry (U+{ord(char):04X} at position 4)."
    )
    assert snapshot(world.sim) == before


def test_every_action_refuses_it_before_anything_else(ec2, world):
    """Tags, allocation descriptions, IPAMs, scopes; even a DryRun or a request for an id that
    does not exist is refused for its text first."""
    pool = world.provisioned_pool("10.0.0.0/16")
    calls = [
        (
            "create_ipam_pool",
            {
                "IpamScopeId": world.private_scope,
                "AddressFamily": "ipv4",
                "TagSpecifications": tag_spec("ipam-pool", Name="a\x1fb"),
            },
        ),
        (
            "create_ipam_pool",
            {
                "IpamScopeId": world.private_scope,
                "AddressFamily": "ipv4",
                "AllocationResourceTags": [{"Key": "env\x0b", "Value": "prod"}],
            },
        ),
        ("modify_ipam_pool", {"IpamPoolId": pool, "Description": "x\x01"}),
        ("allocate_ipam_pool_cidr", {"IpamPoolId": pool, "NetmaskLength": 24, "Description": "\0"}),
        ("create_ipam", {"Description": "\uffff"}),
        ("modify_ipam", {"IpamId": world.ipam_id, "Description": "\x02"}),
        ("create_ipam_scope", {"IpamId": world.ipam_id, "Description": "\x03"}),
        ("describe_ipam_pools", {"Filters": [{"Name": "description", "Values": ["\x04"]}]}),
        ("create_ipam_scope", {"IpamId": world.ipam_id, "Description": "\x05", "DryRun": True}),
        ("describe_ipam_pools", {"IpamPoolIds": ["ipam-pool-\x06"]}),
    ]
    before = snapshot(world.sim)

    for method, params in calls:
        with api_error("InvalidParameterValue") as info:
            getattr(ec2, method)(**params)
        assert refused_rule(info) == RULE, (method, message(info))

    assert snapshot(world.sim) == before


def test_direct_calls_refuse_it_too(world):
    """Seeds and tests call operations without the protocol; lone surrogates come only so."""
    for text in ("\ud800", "a\udfffb", "\x01"):
        with pytest.raises(ApiError) as info:
            world.pool(Description=text)
        assert (info.value.code, info.value.rule) == ("InvalidParameterValue", RULE)


def test_state_written_before_the_rule_still_reads(ec2, world):
    """An answer replaces what XML cannot carry with U+FFFD, whatever the state holds."""
    pool_id = world.pool(Description="fine", TagSpecifications=tag_spec("ipam-pool", Name="n"))
    stored = world.sim.store.get("pool", pool_id)
    stored["Description"] = "old\x01text\ud800"
    stored["Tags"] = [{"Key": "Name", "Value": "\x0bx\uffff"}]

    (pool,) = ec2.describe_ipam_pools(IpamPoolIds=[pool_id])["IpamPools"]

    assert pool["Description"] == "old\ufffdtext\ufffd"
    assert pool["Tags"] == [{"Key": "Name", "Value": "\ufffdx\ufffd"}]


def test_carriage_returns_and_tabs_are_kept(ec2, world):
    made = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope, AddressFamily="ipv4", Description="a\r\nb\tc\rd"
    )["IpamPool"]

    (pool,) = ec2.describe_ipam_pools(IpamPoolIds=[made["IpamPoolId"]])["IpamPools"]
    assert made["Description"] == pool["Description"] == "a\r\nb\tc\rd"


@pytest.mark.parametrize(
    "params",
    [
        {"Action": "Launch\x01Rocket"},
        {"Action": "DescribeIpams", "Bogus\x02Key": "1"},
        {"Action": "CreateIpamPool", "IpamScopeId": "s", "AddressFamily": "ipv\x03"},
        {"Action": "DescribeIpamPools", "MaxResults": "1\x04"},
    ],
)
def test_an_error_quoting_the_request_is_xml(shared_server, sim, params):
    """Errors that quote what was sent (an action, a key, a value) replace what XML cannot
    carry; raw_request parses every answer with ElementTree."""
    status, root = raw_request(shared_server.url, {**params, "Version": "2016-11-15"})

    assert status == 400
    assert error_code(root)
    assert "\ufffd" in root.findtext("Errors/Error/Message")
