"""CreateIpamPool: the response, and every rule of section 3 of the spec, by number."""

from __future__ import annotations

import pytest
from botocore.config import Config
from botocore.exceptions import ParamValidationError

import ipamsim
from tests.integration.ipamsim.support import (
    ACCOUNT,
    HOME,
    POOL_ID,
    api_error,
    make_world,
    message,
    pool_state,
    tag_spec,
    tags_of,
)

PUBLICLY_ADVERTISABLE = (
    "The request can only contain PubliclyAdvertisable if the AddressFamily is IPv6 and "
    "PublicIpSource is byoip."
)


def test_create_ipam_pool_answers_the_pool(ec2, world):
    pool = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope,
        AddressFamily="ipv4",
        Description="Preprod pool",
        AutoImport=True,
        AllocationMinNetmaskLength=16,
        AllocationMaxNetmaskLength=26,
        AllocationDefaultNetmaskLength=24,
        AllocationResourceTags=[{"Key": "Environment", "Value": "Preprod"}],
        TagSpecifications=tag_spec("ipam-pool", Name="Preprod pool"),
    )["IpamPool"]

    pool_id = pool["IpamPoolId"]
    assert POOL_ID.match(pool_id)
    assert pool["OwnerId"] == ACCOUNT
    assert pool["IpamPoolArn"] == f"arn:aws:ec2::{ACCOUNT}:ipam-pool/{pool_id}"
    assert pool["IpamScopeArn"] == f"arn:aws:ec2::{ACCOUNT}:ipam-scope/{world.private_scope}"
    assert pool["IpamArn"] == f"arn:aws:ec2::{ACCOUNT}:ipam/{world.ipam_id}"
    assert pool["IpamScopeType"] == "private"
    assert pool["IpamRegion"] == HOME
    assert pool["Locale"] == "None"
    assert pool["PoolDepth"] == 1
    assert pool["State"] == "create-in-progress"
    assert pool["AutoImport"] is True
    assert pool["AddressFamily"] == "ipv4"
    assert pool["Description"] == "Preprod pool"
    assert (
        pool["AllocationMinNetmaskLength"],
        pool["AllocationMaxNetmaskLength"],
        pool["AllocationDefaultNetmaskLength"],
    ) == (16, 26, 24)
    assert pool["AllocationResourceTags"] == [{"Key": "Environment", "Value": "Preprod"}]
    assert tags_of(pool) == {"Name": "Preprod pool"}
    assert "SourceIpamPoolId" not in pool
    assert "PubliclyAdvertisable" not in pool
    assert "PublicIpSource" not in pool
    described = ec2.describe_ipam_pools(IpamPoolIds=[pool_id])["IpamPools"][0]
    assert described == pool | {"State": "create-complete"}


# --- rule 1 -------------------------------------------------------------------------------------


def test_rule_1_the_scope_must_exist(ec2, world):
    with api_error("InvalidIpamScopeId.NotFound"):
        ec2.create_ipam_pool(IpamScopeId="ipam-scope-0123456789abcdef0", AddressFamily="ipv4")


def test_rule_1_a_deleted_scope_does_not_count(ec2, world):
    scope_id = world.scope()
    ec2.delete_ipam_scope(IpamScopeId=scope_id)

    with api_error("InvalidIpamScopeId.NotFound"):
        ec2.create_ipam_pool(IpamScopeId=scope_id, AddressFamily="ipv4")


# --- rule 2 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"AddressFamily": "ipv5"},
        {"AwsService": "s3"},
        {"PublicIpSource": "borrowed"},
        {"TagSpecifications": [{"ResourceType": "not-a-type", "Tags": [{"Key": "a"}]}]},
    ],
    ids=["AddressFamily", "AwsService", "PublicIpSource", "tag ResourceType"],
)
def test_rule_2_enum_members(ec2, world, params):
    params = {"AddressFamily": "ipv4"} | params

    with api_error("InvalidParameterValue"):
        ec2.create_ipam_pool(IpamScopeId=world.public_scope, **params)


def test_rule_2_source_resource_type_is_an_enum_member(ec2, world):
    parent = world.pool(Locale=HOME)

    with api_error("InvalidParameterValue"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope,
            AddressFamily="ipv4",
            SourceIpamPoolId=parent,
            SourceResource={
                "ResourceId": "subnet-0123",
                "ResourceType": "subnet",
                "ResourceRegion": HOME,
                "ResourceOwner": ACCOUNT,
            },
        )


# --- rules 3 to 6: netmask lengths --------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "member", "value"),
    [
        ("ipv4", "AllocationMinNetmaskLength", 33),
        ("ipv4", "AllocationMaxNetmaskLength", 33),
        ("ipv4", "AllocationDefaultNetmaskLength", 33),
        ("ipv6", "AllocationMaxNetmaskLength", 129),
        ("ipv6", "AllocationMinNetmaskLength", 200),
    ],
)
def test_rule_3_netmask_lengths_within_the_family(ec2, world, family, member, value):
    with api_error("InvalidParameterValue"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope, AddressFamily=family, **{member: value}
        )


@pytest.mark.parametrize(("family", "limit"), [("ipv4", 32), ("ipv6", 128)])
def test_rule_3_the_family_limit_itself_is_accepted(ec2, world, family, limit):
    pool = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope,
        AddressFamily=family,
        AllocationMinNetmaskLength=0,
        AllocationMaxNetmaskLength=limit,
        AllocationDefaultNetmaskLength=limit,
    )["IpamPool"]

    assert pool["AllocationMaxNetmaskLength"] == limit


def test_rule_3_negative_lengths_never_leave_botocore(ec2, world):
    with pytest.raises(ParamValidationError):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope, AddressFamily="ipv4", AllocationMinNetmaskLength=-1
        )


def test_rule_4_min_above_max_is_refused(ec2, world):
    with api_error("InvalidParameterValue"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope,
            AddressFamily="ipv4",
            AllocationMinNetmaskLength=24,
            AllocationMaxNetmaskLength=16,
        )


def test_rule_4_min_above_the_default_max_is_refused(ec2, world):
    with api_error("InvalidParameterValue"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope,
            AddressFamily="ipv4",
            AllocationMaxNetmaskLength=8,
            AllocationMinNetmaskLength=9,
        )


@pytest.mark.parametrize("length", [0, 16, 32])
def test_rule_4_min_equal_to_max_is_accepted(ec2, world, length):
    pool = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope,
        AddressFamily="ipv4",
        AllocationMinNetmaskLength=length,
        AllocationMaxNetmaskLength=length,
        AllocationDefaultNetmaskLength=length,
    )["IpamPool"]

    assert pool["AllocationMinNetmaskLength"] == pool["AllocationMaxNetmaskLength"] == length


@pytest.mark.parametrize(
    ("low", "high", "default"),
    [(16, 24, 8), (16, 24, 25), (None, 20, 21), (20, None, 19)],
)
def test_rule_5_the_default_lies_within_min_and_max(ec2, world, low, high, default):
    params = {
        key: value
        for key, value in (
            ("AllocationMinNetmaskLength", low),
            ("AllocationMaxNetmaskLength", high),
        )
        if value is not None
    }

    with api_error("InvalidParameterValue"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope,
            AddressFamily="ipv4",
            AllocationDefaultNetmaskLength=default,
            **params,
        )


@pytest.mark.parametrize(("family", "maximum"), [("ipv4", 32), ("ipv6", 128)])
def test_rule_6_omitted_netmask_lengths_come_back_as_defaults(ec2, world, family, maximum):
    created = ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily=family)
    pool_id = created["IpamPool"]["IpamPoolId"]
    described = ec2.describe_ipam_pools(IpamPoolIds=[pool_id])["IpamPools"][0]

    for pool in (created["IpamPool"], described):
        assert pool["AllocationMinNetmaskLength"] == 0
        assert pool["AllocationMaxNetmaskLength"] == maximum
        assert "AllocationDefaultNetmaskLength" not in pool


# --- rule 7 -------------------------------------------------------------------------------------


def test_rule_7_a_child_is_not_held_to_its_source_netmask_rules(ec2, world):
    parent = world.pool(
        AllocationMinNetmaskLength=16,
        AllocationMaxNetmaskLength=20,
        AllocationDefaultNetmaskLength=18,
    )

    loose = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope,
        AddressFamily="ipv4",
        SourceIpamPoolId=parent,
        AllocationMinNetmaskLength=8,
        AllocationMaxNetmaskLength=28,
    )["IpamPool"]
    plain = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope, AddressFamily="ipv4", SourceIpamPoolId=parent
    )["IpamPool"]

    assert (loose["AllocationMinNetmaskLength"], loose["AllocationMaxNetmaskLength"]) == (8, 28)
    assert (plain["AllocationMinNetmaskLength"], plain["AllocationMaxNetmaskLength"]) == (0, 32)
    assert "AllocationDefaultNetmaskLength" not in plain


# --- rules 8 to 13: locale ----------------------------------------------------------------------


def test_rule_8_no_locale_shows_the_string_none(ec2, world):
    pool_id = ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4")[
        "IpamPool"
    ]["IpamPoolId"]

    assert ec2.describe_ipam_pools(IpamPoolIds=[pool_id])["IpamPools"][0]["Locale"] == "None"
    locale_filter = [{"Name": "locale", "Values": ["None"]}]
    found = ec2.describe_ipam_pools(Filters=locale_filter)["IpamPools"]
    assert [p["IpamPoolId"] for p in found] == [pool_id]


def test_rule_8_a_locale_is_echoed(ec2, world):
    pool = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope, AddressFamily="ipv4", Locale="us-west-2"
    )["IpamPool"]

    assert pool["Locale"] == "us-west-2"


def test_rule_9_the_locale_is_an_operating_region(ec2, world):
    with api_error("InvalidParameterValue") as info:
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope, AddressFamily="ipv4", Locale="ap-south-1"
        )
    assert message(info).startswith(
        "The locale 'ap-south-1' is not an operating Region of the IPAM"
    )


@pytest.mark.parametrize("locale", ["", "not a region"])
def test_rule_9_a_locale_that_is_no_region_is_refused(ec2, world, locale):
    with api_error("InvalidParameterValue"):
        ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4", Locale=locale)


def test_rule_10_a_local_zone_locale_for_public_ipv4_pools(ec2, world):
    pool = ec2.create_ipam_pool(
        IpamScopeId=world.public_scope, AddressFamily="ipv4", Locale="us-west-2-lax-1"
    )["IpamPool"]

    assert pool["Locale"] == "us-west-2-lax-1"


@pytest.mark.parametrize(
    ("scope", "family"), [("private", "ipv4"), ("public", "ipv6"), ("private", "ipv6")]
)
def test_rule_10_a_local_zone_locale_is_refused_elsewhere(ec2, world, scope, family):
    scope_id = world.private_scope if scope == "private" else world.public_scope

    with api_error("InvalidParameterValue"):
        ec2.create_ipam_pool(IpamScopeId=scope_id, AddressFamily=family, Locale="us-west-2-lax-1")


def test_rule_10_a_local_zone_of_a_region_the_ipam_does_not_operate_in(ec2, world):
    with api_error("InvalidParameterValue"):
        ec2.create_ipam_pool(
            IpamScopeId=world.public_scope, AddressFamily="ipv4", Locale="ap-south-1-del-1"
        )


def test_rule_11_modify_ipam_pool_has_no_locale(ec2, world):
    pool_id = world.pool()

    with pytest.raises(ParamValidationError):
        ec2.modify_ipam_pool(IpamPoolId=pool_id, Locale="us-west-2")


@pytest.mark.parametrize("child_locale", ["us-west-2", None])
def test_rule_12_a_child_keeps_its_sources_locale(ec2, world, child_locale):
    parent = world.pool(Locale=HOME)
    params = {"Locale": child_locale} if child_locale else {}

    with api_error("InvalidParameterCombination"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope,
            AddressFamily="ipv4",
            SourceIpamPoolId=parent,
            **params,
        )


def test_rule_12_same_locale_as_the_source_is_accepted(ec2, world):
    parent = world.pool(Locale=HOME)

    child = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope,
        AddressFamily="ipv4",
        SourceIpamPoolId=parent,
        Locale=HOME,
    )["IpamPool"]

    assert child["Locale"] == HOME


def test_rule_12_a_source_without_locale_may_have_children_that_set_one(ec2, world):
    parent = world.pool()

    child = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope,
        AddressFamily="ipv4",
        SourceIpamPoolId=parent,
        Locale="eu-west-1",
    )["IpamPool"]

    assert child["Locale"] == "eu-west-1"
    assert child["SourceIpamPoolId"] == parent


def test_rule_13_auto_import_without_a_locale_is_accepted(ec2, world):
    pool = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope, AddressFamily="ipv4", AutoImport=True
    )["IpamPool"]

    assert pool["AutoImport"] is True
    assert pool["Locale"] == "None"


# --- rules 14 to 18: the source pool ------------------------------------------------------------


def test_rule_14_the_source_pool_must_exist(ec2, world):
    with api_error("InvalidIpamPoolId.NotFound"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope,
            AddressFamily="ipv4",
            SourceIpamPoolId="ipam-pool-0123456789abcdef0",
        )


def test_rule_15_the_source_pool_is_in_the_same_scope(ec2, world):
    other_scope = world.scope()
    parent = world.pool(other_scope)

    with api_error("InvalidParameterCombination"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope, AddressFamily="ipv4", SourceIpamPoolId=parent
        )


def test_rule_15_the_source_pool_has_the_same_family(ec2, world):
    parent = world.pool(AddressFamily="ipv6")

    with api_error("InvalidParameterCombination"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope, AddressFamily="ipv4", SourceIpamPoolId=parent
        )


def test_rule_16_a_source_pool_still_being_created_is_not_usable(ec2, use_sim):
    world = make_world(use_sim(ipamsim.Config(create_delay=60)))
    parent = world.pool()

    with api_error("IncorrectState"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope, AddressFamily="ipv4", SourceIpamPoolId=parent
        )


def test_rule_16_a_failed_source_pool_is_not_usable(ec2, world):
    world.sim.faults.update({"fail_next_creates": 1})
    parent = world.pool()
    assert pool_state(ec2, parent) == "create-failed"

    with api_error("IncorrectState"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope, AddressFamily="ipv4", SourceIpamPoolId=parent
        )


def test_rule_16_a_modified_source_pool_is_usable(ec2, world):
    parent = world.pool()
    ec2.modify_ipam_pool(IpamPoolId=parent, Description="changed")
    assert pool_state(ec2, parent) == "modify-complete"

    child = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope, AddressFamily="ipv4", SourceIpamPoolId=parent
    )["IpamPool"]

    assert child["SourceIpamPoolId"] == parent


def test_rule_17_the_source_pool_needs_no_cidr(ec2, world):
    parent = world.pool()

    child = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope, AddressFamily="ipv4", SourceIpamPoolId=parent
    )["IpamPool"]

    assert ec2.get_ipam_pool_cidrs(IpamPoolId=parent)["IpamPoolCidrs"] == []
    assert child["PoolDepth"] == 2


def test_rule_18_pool_depth_goes_to_ten_and_no_further(ec2, world):
    source = None
    depths = []
    for _ in range(10):
        params = {"SourceIpamPoolId": source} if source else {}
        pool = ec2.create_ipam_pool(
            IpamScopeId=world.private_scope, AddressFamily="ipv4", **params
        )["IpamPool"]
        depths.append(pool["PoolDepth"])
        source = pool["IpamPoolId"]

    assert depths == list(range(1, 11))
    with api_error("InvalidParameterValue") as info:
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope, AddressFamily="ipv4", SourceIpamPoolId=source
        )
    assert "pool depth quota (10) exceeded" in message(info)


# --- rules 19 to 21: public-scope members -------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "family", "source", "value"),
    [
        ("private", "ipv6", None, True),
        ("private", "ipv6", None, False),
        ("private", "ipv4", None, True),
        ("public", "ipv4", None, True),
        ("public", "ipv4", "byoip", False),
        ("public", "ipv6", "amazon", True),
    ],
)
def test_rule_19_publicly_advertisable_only_for_public_byoip_ipv6(
    ec2, world, scope, family, source, value
):
    scope_id = world.public_scope if scope == "public" else world.private_scope
    params = {"PublicIpSource": source} if source else {}

    with api_error("InvalidParameterCombination") as info:
        ec2.create_ipam_pool(
            IpamScopeId=scope_id, AddressFamily=family, PubliclyAdvertisable=value, **params
        )
    if scope == "public":
        assert message(info) == PUBLICLY_ADVERTISABLE


@pytest.mark.parametrize("source", [None, "byoip"])
@pytest.mark.parametrize("value", [True, False])
def test_rule_19_publicly_advertisable_for_a_public_byoip_ipv6_pool(ec2, world, source, value):
    params = {"PublicIpSource": source} if source else {}

    pool = ec2.create_ipam_pool(
        IpamScopeId=world.public_scope, AddressFamily="ipv6", PubliclyAdvertisable=value, **params
    )["IpamPool"]

    assert pool["PubliclyAdvertisable"] is value
    assert pool["PublicIpSource"] == "byoip"
    assert pool["IpamScopeType"] == "public"


@pytest.mark.parametrize("member", [{"PublicIpSource": "byoip"}, {"AwsService": "ec2"}])
def test_rule_20_public_members_are_refused_in_a_private_scope(ec2, world, member):
    with api_error("InvalidParameterCombination"):
        ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4", **member)


def test_rule_20_a_custom_scope_is_private(ec2, world):
    scope_id = world.scope()

    with api_error("InvalidParameterCombination"):
        ec2.create_ipam_pool(IpamScopeId=scope_id, AddressFamily="ipv4", AwsService="ec2")


def test_rule_20_public_members_are_accepted_in_the_public_scope(ec2, world):
    pool = ec2.create_ipam_pool(
        IpamScopeId=world.public_scope,
        AddressFamily="ipv4",
        AwsService="ec2",
        PublicIpSource="byoip",
        Locale=HOME,
    )["IpamPool"]

    assert (pool["AwsService"], pool["PublicIpSource"]) == ("ec2", "byoip")


@pytest.mark.parametrize("custom", [False, True])
def test_rule_21_ipv6_pools_in_private_scopes(ec2, world, custom):
    scope_id = world.scope() if custom else world.private_scope

    pool = ec2.create_ipam_pool(IpamScopeId=scope_id, AddressFamily="ipv6")["IpamPool"]

    assert (pool["AddressFamily"], pool["IpamScopeType"]) == ("ipv6", "private")


# --- rule 22: SourceResource --------------------------------------------------------------------


def vpc(region=HOME):
    return {
        "ResourceId": "vpc-0123456789abcdef0",
        "ResourceType": "vpc",
        "ResourceRegion": region,
        "ResourceOwner": ACCOUNT,
    }


def test_rule_22_a_pool_planned_inside_a_vpc(ec2, world):
    parent = world.provisioned_pool("10.0.0.0/16", Locale="us-west-2")

    pool = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope,
        AddressFamily="ipv4",
        SourceIpamPoolId=parent,
        SourceResource=vpc("us-west-2"),
    )["IpamPool"]

    assert pool["Locale"] == "us-west-2"
    assert pool["SourceResource"] == vpc("us-west-2")


def test_rule_22_source_resource_needs_a_source_pool(ec2, world):
    with api_error("InvalidParameterValue"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope, AddressFamily="ipv4", SourceResource=vpc()
        )


@pytest.mark.parametrize("parent_locale", ["us-west-2", None])
def test_rule_22_the_resource_region_is_the_source_pools_locale(ec2, world, parent_locale):
    parent = world.pool(**({"Locale": parent_locale} if parent_locale else {}))

    with api_error("InvalidParameterValue"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope,
            AddressFamily="ipv4",
            SourceIpamPoolId=parent,
            SourceResource=vpc("eu-west-1"),
        )


# --- rules 23 and 24: tags ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("aws:owner", "x", "Tag keys starting with 'aws:' are reserved for internal use"),
        ("k" * 129, "x", "Tag key exceeds the maximum length of 128 characters"),
        ("key", "v" * 257, "Tag value exceeds the maximum length of 256 characters"),
    ],
    ids=["aws-prefix", "long-key", "long-value"],
)
def test_rule_23_tag_rules_with_aws_wording(ec2, world, key, value, text):
    with api_error("InvalidParameterValue") as info:
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope,
            AddressFamily="ipv4",
            TagSpecifications=tag_spec("ipam-pool", **{key: value}),
        )
    assert message(info) == text


def test_rule_23_tags_are_for_an_ipam_pool(ec2, world):
    with api_error("InvalidParameterValue"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope,
            AddressFamily="ipv4",
            TagSpecifications=tag_spec("vpc", Name="x"),
        )


def test_rule_23_at_most_fifty_tags(ec2, world):
    fifty = {f"k{n}": "v" for n in range(50)}
    pool = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope,
        AddressFamily="ipv4",
        TagSpecifications=tag_spec("ipam-pool", **fifty),
    )["IpamPool"]
    assert len(pool["Tags"]) == 50

    with api_error("InvalidParameterValue"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope,
            AddressFamily="ipv4",
            TagSpecifications=tag_spec("ipam-pool", **fifty, one_more="v"),
        )


def test_rule_23_limits_themselves_are_accepted(ec2, world):
    pool = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope,
        AddressFamily="ipv4",
        TagSpecifications=tag_spec("ipam-pool", **{"k" * 128: "v" * 256, "empty": ""}),
    )["IpamPool"]

    assert tags_of(pool) == {"k" * 128: "v" * 256, "empty": ""}


def test_rule_24_allocation_resource_tags_are_echoed(ec2, world):
    tags = [{"Key": "environment", "Value": "prod"}, {"Key": "team", "Value": "net"}]
    pool_id = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope, AddressFamily="ipv4", AllocationResourceTags=tags
    )["IpamPool"]["IpamPoolId"]

    described = ec2.describe_ipam_pools(IpamPoolIds=[pool_id])["IpamPools"][0]
    assert described["AllocationResourceTags"] == tags


# --- rules 25 and 26: ClientToken, DryRun -------------------------------------------------------


def test_rule_25_same_token_and_parameters_return_the_same_pool(ec2, world):
    params = {"IpamScopeId": world.private_scope, "AddressFamily": "ipv4", "ClientToken": "t-1"}
    first = ec2.create_ipam_pool(**params)["IpamPool"]
    again = ec2.create_ipam_pool(**params)["IpamPool"]

    assert again["IpamPoolId"] == first["IpamPoolId"]
    assert again["State"] == "create-complete"
    assert len(ec2.describe_ipam_pools()["IpamPools"]) == 1


def test_rule_25_same_token_other_parameters_is_a_mismatch(ec2, world):
    ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4", ClientToken="t")

    with api_error("IdempotentParameterMismatch"):
        ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv6", ClientToken="t")
    assert len(ec2.describe_ipam_pools()["IpamPools"]) == 1


def test_rule_25_tokens_are_case_sensitive(ec2, world):
    made = {
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope, AddressFamily="ipv4", ClientToken=token
        )["IpamPool"]["IpamPoolId"]
        for token in ("token", "TOKEN")
    }

    assert len(made) == 2


@pytest.mark.parametrize("token", ["x" * 65, "tökén"])
def test_rule_25_a_token_is_at_most_64_ascii_characters(ec2, world, token):
    ok = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope, AddressFamily="ipv4", ClientToken="x" * 64
    )
    assert ok["IpamPool"]["IpamPoolId"]

    with api_error("InvalidParameterValue"):
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope, AddressFamily="ipv4", ClientToken=token
        )


def test_rule_25_botocore_fills_a_token_so_plain_retries_make_new_pools(ec2, world):
    for _ in range(2):
        ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4")

    assert len(ec2.describe_ipam_pools()["IpamPools"]) == 2


def test_rule_26_dry_run_when_permitted(ec2, world):
    with api_error("DryRunOperation", 412) as info:
        ec2.create_ipam_pool(
            IpamScopeId=world.private_scope, AddressFamily="ipv4", DryRun=True, ClientToken="t"
        )

    assert message(info) == "Request would have succeeded, but DryRun flag is set."
    assert ec2.describe_ipam_pools()["IpamPools"] == []
    pool = ec2.create_ipam_pool(
        IpamScopeId=world.private_scope, AddressFamily="ipv6", ClientToken="t"
    )["IpamPool"]
    assert pool["AddressFamily"] == "ipv6"


def test_rule_26_dry_run_when_not_permitted(ec2, world):
    world.sim.faults.update({"deny": True})

    with api_error("UnauthorizedOperation", 403) as info:
        ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4", DryRun=True)

    assert message(info) == "You are not authorized to perform this operation."
    world.sim.faults.update({"deny": False})
    assert ec2.describe_ipam_pools()["IpamPools"] == []


# --- rules 27 and 28 ----------------------------------------------------------------------------


def test_rule_27_concurrent_mutations_are_refused_and_not_retried(make_client, world):
    world.sim.faults.update({"mutation_conflict_rate": 1.0})
    ec2 = make_client(config=Config(retries={"max_attempts": 3, "mode": "standard"}))

    with api_error("ConcurrentMutationLimitExceeded") as info:
        ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4")

    assert message(info) == (
        "There are too many concurrent mutations for the requested resource. Try again later."
    )
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert ec2.describe_ipam_pools()["IpamPools"] == []


def test_rule_28_pools_per_scope_quota(ec2, use_sim):
    world = make_world(use_sim(ipamsim.Config(create_delay=0, max_pools_per_scope=3)))
    made = [world.pool() for _ in range(3)]

    with api_error("LimitExceeded"):
        ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4")
    other_scope = ec2.create_ipam_pool(IpamScopeId=world.public_scope, AddressFamily="ipv4")
    assert other_scope["IpamPool"]["IpamPoolId"]
    ec2.delete_ipam_pool(IpamPoolId=made[0])
    assert ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4")


def test_rule_28_cidrs_per_pool_quota(ec2, use_sim):
    world = make_world(use_sim(ipamsim.Config(create_delay=0, max_cidrs_per_pool=2)))
    pool_id = world.pool()
    ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")
    ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.1.0.0/16")

    with api_error("LimitExceeded"):
        ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.2.0.0/16")
    ec2.deprovision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")
    ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.2.0.0/16")
    assert cidrs_in(ec2, pool_id) == {"10.1.0.0/16", "10.2.0.0/16"}


def cidrs_in(ec2, pool_id):
    found = ec2.get_ipam_pool_cidrs(IpamPoolId=pool_id)["IpamPoolCidrs"]
    return {c["Cidr"] for c in found if c["State"] in ("pending-provision", "provisioned")}


def test_rule_26_dry_run_checks_permission_only(ec2, world):
    with api_error("DryRunOperation", 412):
        ec2.create_ipam_pool(
            IpamScopeId="ipam-scope-0123456789abcdef0",
            AddressFamily="ipv4",
            Locale="ap-south-1",
            DryRun=True,
        )
