"""awsipam.rules: the CreateIpamPool rules and their helpers, by their stable codes.

The rules of every request are also in tests/integration/app/test_rule_table.py, judged by
the local endpoint and by the app alike.
"""

from __future__ import annotations

import pytest

from awsipam import rules
from awsipam.catalog import RULES, Violation, violation
from awsipam.facts import PoolFacts, ScopeFacts

REGIONS = ("us-east-1", "us-west-2")


def codes(violations):
    return [v.code for v in violations]


def source(**changes):
    facts = {
        "pool_id": "ipam-pool-0000000000000000a",
        "scope_id": "ipam-scope-0000000000000000a",
        "scope_type": "private",
        "address_family": "ipv4",
        "state": "create-complete",
        "depth": 1,
        "locale": None,
    }
    return PoolFacts(**(facts | changes))


MEMBERS = {
    "address_family": "AddressFamily",
    "locale": "Locale",
    "min_netmask": "AllocationMinNetmaskLength",
    "max_netmask": "AllocationMaxNetmaskLength",
    "default_netmask": "AllocationDefaultNetmaskLength",
    "publicly_advertisable": "PubliclyAdvertisable",
    "public_ip_source": "PublicIpSource",
    "aws_service": "AwsService",
    "source_resource": "SourceResource",
}


def create(*, source=None, tags=(), scope_type="private", pool_count=0, **params):
    request = {"IpamScopeId": "ipam-scope-0000000000000000a", "AddressFamily": "ipv4"}
    request.update({MEMBERS[k]: v for k, v in params.items() if v is not None})
    if tags:
        tag_list = [{"Key": k, "Value": v} for k, v in tags]
        request["TagSpecifications"] = [{"ResourceType": "ipam-pool", "Tags": tag_list}]
    scope = ScopeFacts("ipam-scope-0000000000000000a", scope_type, REGIONS, pool_count=pool_count)
    return rules.check_create_ipam_pool(request, scope=scope, source=source)


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
    (found,) = rules.check_locale(
        "eu-west-1", operating_regions=REGIONS, address_family="ipv4", scope_type="private"
    )

    assert found.message.startswith("The locale 'eu-west-1' is not an operating Region of the IPAM")
    assert found.aws_code == "InvalidParameterValue"


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
    (found,) = rules.check_locale(
        None,
        operating_regions=REGIONS,
        address_family="ipv4",
        scope_type="private",
        source=parent,
    )
    assert found.aws_code == "InvalidParameterCombination"


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
    assert rules.child_depth(source(depth=4)) == 5
    assert check_source(source(depth=9)) == []
    violations = check_source(source(depth=10))
    assert codes(violations) == ["pool_depth_exceeded"]
    assert "pool depth quota (10) exceeded" in violations[0].message
    assert violations[0].aws_code == "InvalidParameterValue"
    assert rules.check_depth(10) == []


# --- rules 19 to 21: public-scope members -------------------------------------------------------


def public_members(scope_type="public", **kwargs):
    params = {"address_family": "ipv6"} | kwargs
    request = {MEMBERS[k]: v for k, v in params.items() if v is not None}
    return rules.check_public_members(request, scope_type=scope_type)


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

    def check(resource, parent):
        return codes(rules.check_source_resource({"SourceResource": resource}, source=parent))

    assert check(None, None) == []
    assert check(VPC, parent) == []
    assert check(VPC, None) == ["source_resource_without_source_pool"]
    assert check(VPC, source(locale="us-east-1")) == ["source_resource_region_mismatch"]
    assert check(VPC, source()) == ["source_resource_region_mismatch"]


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
    (found,) = rules.check_tags([tag], field="TagSpecifications")

    assert (found.code, found.message) == (code, text)
    assert found.aws_code == "InvalidParameterValue"


def test_rule_23_limits():
    def check(tags):
        return codes(rules.check_tags(tags, field="TagSpecifications"))

    assert check([("k" * 128, "v" * 256), ("empty", "")]) == []
    assert check([(f"k{n}", "") for n in range(50)]) == []
    assert check([(f"k{n}", "") for n in range(51)]) == ["too_many_tags"]
    assert check([("", "v")]) == ["tag_key_empty"]
    assert check([("a", "1"), ("a", "2")]) == ["tag_key_duplicate"]


def test_rule_23_the_field_is_named():
    (found,) = rules.check_tags([("aws:x", "")], field="AddAllocationResourceTags")

    assert found.field == "AddAllocationResourceTags"


# --- rule 25 ------------------------------------------------------------------------------------


def test_rule_25_client_tokens():
    def check(token):
        return codes(rules.check_client_token({"ClientToken": token} if token else {}))

    assert check(None) == []
    assert check("x" * 64) == []
    assert check("x" * 65) == ["client_token_invalid"]
    assert check("tökén") == ["client_token_invalid"]


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
    parent = source(locale="us-east-1", depth=10)

    assert codes(create(source=parent, locale="us-west-2")) == [
        "pool_depth_exceeded",
        "locale_differs_from_source",
    ]


def test_the_scope_quota_of_pools():
    assert create(pool_count=49) == []
    assert codes(create(pool_count=50)) == ["pools_per_scope_exceeded"]


def test_violations_are_values_of_rules_in_the_catalog():
    one = violation("cidr_invalid", "Cidr", "text")

    assert one == Violation("cidr_invalid", "Cidr", "text")
    assert one.aws_code == "InvalidParameterValue"
    with pytest.raises(AttributeError):
        one.code = "other"  # type: ignore[misc]
    with pytest.raises(KeyError):
        violation("no_such_rule", None, "text")


def test_every_rule_names_its_evidence():
    for rule in RULES.values():
        assert any(tag in rule.evidence for tag in ("[aws]", "[model]", "[choice]")), rule.code


# --- CreateTags / DeleteTags ------------------------------------------------------------------


def _codes(violations):
    return [v.code for v in violations]


def test_tags_go_on_pools_only():
    from awsipam import rules

    ok = {"Resources": ["ipam-pool-0123456789abcdef0"], "Tags": [{"Key": "a", "Value": "b"}]}
    assert rules.check_create_tags(ok, current={}) == []
    for bad in ("vpc-0123", "ipam-pool-alloc-0123", "IPAM-POOL-0123456789ABCDEF0"):
        request = ok | {"Resources": [bad]}
        assert _codes(rules.check_create_tags(request, current={})) == ["resource_id_invalid"]
        assert _codes(rules.check_delete_tags(request)) == ["resource_id_invalid"]


def test_fifty_tags_count_what_the_resource_has_already():
    from awsipam import rules

    pool = "ipam-pool-0123456789abcdef0"
    current = {pool: {f"k{n}": "" for n in range(49)}}
    overwrite = {"Resources": [pool], "Tags": [{"Key": "k1", "Value": "x"}, {"Key": "new"}]}
    assert rules.check_create_tags(overwrite, current=current) == []
    two_new = {"Resources": [pool], "Tags": [{"Key": "a"}, {"Key": "b"}]}
    assert _codes(rules.check_create_tags(two_new, current=current)) == ["tag_limit_exceeded"]


def test_tags_after_delete_follow_keys_and_values():
    from awsipam import rules

    tags = {"a": "1", "b": "", "aws:x": "y"}
    assert rules.tags_after_delete(tags, {"Tags": [{"Key": "a", "Value": "2"}]}) == tags
    assert rules.tags_after_delete(tags, {"Tags": [{"Key": "b", "Value": ""}]}) == {
        "a": "1",
        "aws:x": "y",
    }
    assert rules.tags_after_delete(tags, {}) == {"aws:x": "y"}
    assert _codes(rules.check_delete_tags({"Resources": [], "Tags": [{"Key": "AWS:x"}]})) == [
        "tag_key_reserved"
    ]
