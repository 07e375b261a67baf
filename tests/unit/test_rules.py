"""pools.rules: every CreateIpamPool rule that needs no AWS call, by its stable code."""

from __future__ import annotations

import pytest

from pools import rules
from pools.rules import SourcePoolFacts

REGIONS = ("us-east-1", "us-west-2")


def codes(violations):
    return [v.code for v in violations]


def source(**changes):
    facts = {
        "pool_id": "ipam-pool-0000000000000000a",
        "scope_id": "ipam-scope-0000000000000000a",
        "address_family": "ipv4",
        "state": "create-complete",
        "pool_depth": 1,
        "locale": None,
    }
    return SourcePoolFacts(**(facts | changes))


def create(**params):
    base = {
        "scope_id": "ipam-scope-0000000000000000a",
        "scope_type": "private",
        "operating_regions": REGIONS,
        "address_family": "ipv4",
    }
    return rules.check_create_pool(**(base | params))


def test_a_plain_pool_breaks_no_rule():
    assert create() == []


# --- names and defaults -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "us-east-1",
        "eu-central-2",
        "ap-southeast-4",
        "us-gov-west-1",
        "cn-north-1",
        "us-isob-east-1",
        "il-central-1",
    ],
)
def test_region_names(name):
    assert rules.is_region_name(name)
    assert rules.local_zone_region(name) is None


@pytest.mark.parametrize("name", ["", "us-east", "US-EAST-1", "us-east-1a", "useast1", "None"])
def test_not_region_names(name):
    assert not rules.is_region_name(name)


@pytest.mark.parametrize(
    ("group", "region"),
    [
        ("us-west-2-lax-1", "us-west-2"),
        ("us-east-1-bos-1", "us-east-1"),
        ("us-east-1-wl1-bos-wlz-1", "us-east-1"),
    ],
)
def test_local_zone_network_border_groups(group, region):
    assert rules.local_zone_region(group) == region


@pytest.mark.parametrize(
    ("given", "stored"), [(None, None), ("", None), ("None", None), ("us-east-1", "us-east-1")]
)
def test_normalise_locale(given, stored):
    assert rules.normalise_locale(given) == stored


@pytest.mark.parametrize(
    ("family", "low", "high", "expected"),
    [
        ("ipv4", None, None, (0, 32)),
        ("ipv6", None, None, (0, 128)),
        ("ipv4", 8, None, (8, 32)),
        ("ipv6", None, 64, (0, 64)),
    ],
)
def test_rule_6_effective_netmask_range(family, low, high, expected):
    assert rules.effective_netmask_range(family, low, high) == expected


# --- rules 3 to 5 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "lengths"),
    [
        ("ipv4", (33, None, None)),
        ("ipv4", (None, 33, None)),
        ("ipv4", (None, None, 33)),
        ("ipv4", (-1, None, None)),
        ("ipv6", (None, 129, None)),
    ],
)
def test_rule_3_out_of_range(family, lengths):
    violations = rules.check_netmask_lengths(family, *lengths)

    assert codes(violations) == ["netmask_out_of_range"]
    assert violations[0].aws_code == "InvalidParameterValue"


def test_rule_3_each_member_is_reported():
    violations = rules.check_netmask_lengths("ipv4", 40, 41, 42)

    assert [v.field for v in violations] == [
        "AllocationMinNetmaskLength",
        "AllocationMaxNetmaskLength",
        "AllocationDefaultNetmaskLength",
    ]


@pytest.mark.parametrize(("family", "limit"), [("ipv4", 32), ("ipv6", 128)])
def test_rule_3_the_limits_themselves(family, limit):
    assert rules.check_netmask_lengths(family, 0, limit, limit) == []


@pytest.mark.parametrize(("low", "high"), [(24, 16), (1, 0), (32, 31)])
def test_rule_4_min_above_max(low, high):
    violations = rules.check_netmask_lengths("ipv4", low, high, None)

    assert codes(violations) == ["netmask_min_gt_max"]
    assert violations[0].field == "AllocationMinNetmaskLength"


def test_rule_4_min_above_the_omitted_max_of_the_family():
    assert codes(rules.check_netmask_lengths("ipv4", None, 8, None)) == []
    assert codes(rules.check_netmask_lengths("ipv6", 64, None, None)) == []


@pytest.mark.parametrize("length", [0, 16, 32])
def test_rule_4_min_equal_to_max_is_accepted(length):
    assert rules.check_netmask_lengths("ipv4", length, length, length) == []


@pytest.mark.parametrize(
    ("low", "high", "default"), [(16, 24, 8), (16, 24, 25), (None, 20, 21), (20, None, 19)]
)
def test_rule_5_default_within_min_and_max(low, high, default):
    violations = rules.check_netmask_lengths("ipv4", low, high, default)

    assert codes(violations) == ["netmask_default_outside_range"]
    assert violations[0].field == "AllocationDefaultNetmaskLength"


def test_rule_5_default_on_the_edges():
    assert rules.check_netmask_lengths("ipv4", 16, 24, 16) == []
    assert rules.check_netmask_lengths("ipv4", 16, 24, 24) == []


# --- rules 8 to 13: locale ----------------------------------------------------------------------


def locale(value, **kwargs):
    params = {"operating_regions": REGIONS, "address_family": "ipv4", "scope_type": "private"}
    return codes(rules.check_locale(value, **(params | kwargs)))


def test_rule_8_no_locale_is_fine():
    assert locale(None) == []


def test_rule_9_an_operating_region():
    assert locale("us-west-2") == []
    assert locale("eu-west-1") == ["locale_not_operating"]


def test_rule_9_message_starts_with_the_chosen_text():
    (violation,) = rules.check_locale(
        "eu-west-1", operating_regions=REGIONS, address_family="ipv4", scope_type="private"
    )

    assert violation.message.startswith(
        "The locale 'eu-west-1' is not an operating Region of the IPAM"
    )
    assert violation.aws_code == "InvalidParameterValue"


def test_rule_9_not_a_region_at_all():
    assert locale("the moon") == ["locale_invalid"]


def test_rule_10_local_zone_only_for_public_ipv4():
    assert locale("us-west-2-lax-1", scope_type="public") == []
    assert locale("us-west-2-lax-1") == ["locale_local_zone_not_allowed"]
    assert locale("us-west-2-lax-1", scope_type="public", address_family="ipv6") == [
        "locale_local_zone_not_allowed"
    ]
    assert locale("eu-west-1-ham-1", scope_type="public") == ["locale_not_operating"]


def test_rule_12_a_child_keeps_the_sources_locale():
    parent = source(locale="us-east-1")

    assert locale("us-east-1", source=parent) == []
    assert locale("us-west-2", source=parent) == ["locale_differs_from_source"]
    assert locale(None, source=parent) == ["locale_differs_from_source"]
    (violation,) = rules.check_locale(
        None,
        operating_regions=REGIONS,
        address_family="ipv4",
        scope_type="private",
        source=parent,
    )
    assert violation.aws_code == "InvalidParameterCombination"


def test_rule_12_a_source_without_locale_allows_any_child_locale():
    assert locale("us-west-2", source=source()) == []
    assert locale(None, source=source()) == []


def test_rule_13_auto_import_is_not_a_rule():
    assert create(locale=None) == []


# --- rules 14 to 18: the source pool ------------------------------------------------------------


def check_source(parent, **kwargs):
    params = {"scope_id": "ipam-scope-0000000000000000a", "address_family": "ipv4"} | kwargs
    return rules.check_source_pool(parent, **params)


def test_rule_15_same_scope_and_family():
    other_scope = check_source(source(scope_id="ipam-scope-0000000000000000b"))
    other_family = check_source(source(address_family="ipv6"))

    assert codes(other_scope) == ["source_pool_other_scope"]
    assert codes(other_family) == ["source_pool_other_family"]
    assert {v.aws_code for v in other_scope + other_family} == {"InvalidParameterCombination"}


@pytest.mark.parametrize("state", ["create-complete", "modify-complete"])
def test_rule_16_usable_states(state):
    assert check_source(source(state=state)) == []


@pytest.mark.parametrize(
    "state", ["create-in-progress", "create-failed", "modify-in-progress", "delete-in-progress"]
)
def test_rule_16_unusable_states(state):
    violations = check_source(source(state=state))

    assert codes(violations) == ["source_pool_not_usable"]
    assert violations[0].aws_code == "IncorrectState"


def test_rule_17_a_source_needs_no_cidr():
    assert create(source=source()) == []


def test_rule_18_depth():
    assert rules.child_depth(None) == 1
    assert rules.child_depth(source(pool_depth=4)) == 5
    assert check_source(source(pool_depth=9)) == []
    violations = check_source(source(pool_depth=10))
    assert codes(violations) == ["pool_depth_exceeded"]
    assert "pool depth quota (10) exceeded" in violations[0].message
    assert violations[0].aws_code == "InvalidParameterValue"
    assert rules.check_depth(10) == []


# --- rules 19 to 21: public-scope members -------------------------------------------------------


def public_members(**kwargs):
    params = {
        "scope_type": "public",
        "address_family": "ipv6",
        "publicly_advertisable": None,
        "public_ip_source": None,
        "aws_service": None,
    }
    return rules.check_public_members(**(params | kwargs))


@pytest.mark.parametrize("source_kind", [None, "byoip"])
@pytest.mark.parametrize("value", [True, False])
def test_rule_19_publicly_advertisable_allowed(source_kind, value):
    assert public_members(publicly_advertisable=value, public_ip_source=source_kind) == []


@pytest.mark.parametrize(
    "params",
    [
        {"scope_type": "private"},
        {"address_family": "ipv4"},
        {"public_ip_source": "amazon"},
        {"scope_type": "private", "address_family": "ipv4"},
    ],
)
def test_rule_19_publicly_advertisable_refused(params):
    violations = public_members(publicly_advertisable=True, **params)

    assert codes(violations)[-1] == "publicly_advertisable_not_allowed"
    assert violations[-1].message == (
        "The request can only contain PubliclyAdvertisable if the AddressFamily is IPv6 and "
        "PublicIpSource is byoip."
    )
    assert violations[-1].aws_code == "InvalidParameterCombination"


@pytest.mark.parametrize(
    ("member", "value"), [("public_ip_source", "byoip"), ("aws_service", "ec2")]
)
def test_rule_20_public_members_in_a_private_scope(member, value):
    violations = public_members(scope_type="private", address_family="ipv4", **{member: value})

    assert codes(violations) == ["public_member_in_private_scope"]
    assert violations[0].aws_code == "InvalidParameterCombination"


def test_rule_20_public_members_in_the_public_scope():
    assert public_members(address_family="ipv4", public_ip_source="amazon", aws_service="ec2") == []


def test_rule_21_ipv6_in_a_private_scope():
    assert create(address_family="ipv6") == []


# --- rule 22 ------------------------------------------------------------------------------------

VPC = {"ResourceId": "vpc-1", "ResourceType": "vpc", "ResourceRegion": "us-west-2"}


def test_rule_22_source_resource():
    parent = source(locale="us-west-2")

    assert rules.check_source_resource(None, source=None) == []
    assert rules.check_source_resource(VPC, source=parent) == []
    assert codes(rules.check_source_resource(VPC, source=None)) == [
        "source_resource_without_source_pool"
    ]
    assert codes(rules.check_source_resource(VPC, source=source(locale="us-east-1"))) == [
        "source_resource_region_mismatch"
    ]
    assert codes(rules.check_source_resource(VPC, source=source())) == [
        "source_resource_region_mismatch"
    ]


def test_rule_22_the_pool_takes_the_resource_region_as_locale():
    parent = source(locale="us-west-2")

    assert create(source=parent, source_resource=VPC) == []
    assert create(source=parent, source_resource=VPC, locale="us-east-1") == []


# --- rule 23: tags ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "code", "text"),
    [
        (
            ("aws:owner", "x"),
            "tag_key_reserved",
            "Tag keys starting with 'aws:' are reserved for internal use",
        ),
        (
            ("AWS:owner", "x"),
            "tag_key_reserved",
            "Tag keys starting with 'aws:' are reserved for internal use",
        ),
        (
            ("k" * 129, "x"),
            "tag_key_too_long",
            "Tag key exceeds the maximum length of 128 characters",
        ),
        (
            ("key", "v" * 257),
            "tag_value_too_long",
            "Tag value exceeds the maximum length of 256 characters",
        ),
    ],
)
def test_rule_23_tags_with_aws_wording(tag, code, text):
    (violation,) = rules.check_tags([tag])

    assert (violation.code, violation.message) == (code, text)
    assert violation.aws_code == "InvalidParameterValue"


def test_rule_23_limits():
    assert rules.check_tags([("k" * 128, "v" * 256), ("empty", "")]) == []
    assert rules.check_tags([(f"k{n}", "") for n in range(50)]) == []
    assert codes(rules.check_tags([(f"k{n}", "") for n in range(51)])) == ["too_many_tags"]
    assert codes(rules.check_tags([("", "v")])) == ["tag_key_empty"]
    assert codes(rules.check_tags([("a", "1"), ("a", "2")])) == ["tag_key_duplicate"]


def test_rule_23_the_field_is_named():
    (violation,) = rules.check_tags([("aws:x", "")], field="AddAllocationResourceTags")

    assert violation.field == "AddAllocationResourceTags"


# --- rule 25 ------------------------------------------------------------------------------------


def test_rule_25_client_tokens():
    assert rules.check_client_token(None) == []
    assert rules.check_client_token("x" * 64) == []
    assert codes(rules.check_client_token("x" * 65)) == ["client_token_invalid"]
    assert codes(rules.check_client_token("tökén")) == ["client_token_invalid"]


# --- all together -------------------------------------------------------------------------------


def test_check_create_pool_reports_in_order():
    violations = create(
        min_netmask=24,
        max_netmask=16,
        tags=[("aws:x", "")],
        publicly_advertisable=True,
        locale="eu-west-1",
    )

    assert codes(violations) == [
        "netmask_min_gt_max",
        "tag_key_reserved",
        "publicly_advertisable_not_allowed",
        "locale_not_operating",
    ]


def test_check_create_pool_with_a_source():
    parent = source(locale="us-east-1", pool_depth=10)

    assert codes(create(source=parent, locale="us-west-2")) == [
        "pool_depth_exceeded",
        "locale_differs_from_source",
    ]


def test_violations_are_values():
    one = rules.Violation("code", "Field", "text")

    assert one == rules.Violation("code", "Field", "text", "InvalidParameterValue")
    with pytest.raises(AttributeError):
        one.code = "other"  # type: ignore[misc]
