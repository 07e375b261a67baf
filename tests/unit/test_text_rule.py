"""awsipam.rules.check_text: text that XML 1.0 cannot carry, wherever it is in a request."""

from __future__ import annotations

import pytest

from awsipam import rules
from awsipam.facts import PoolFacts, ScopeFacts

# Outside XML 1.0's Char production: C0 controls but TAB, LF, CR; lone surrogates; U+FFFE/F.
UNSAFE = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"]
# At the edges of each range XML 1.0 allows.
SAFE = ["\t", "\n", "\r", " ", "\x7f", "\x85", "\ud7ff", "\ue000", "\ufffd", "\U00010000"]
SAFE += ["\U0010ffff", "é 漢字 😀"]

POOL = PoolFacts(
    pool_id="ipam-pool-0000000000000000a",
    scope_id="ipam-scope-0000000000000000a",
    scope_type="private",
    address_family="ipv4",
    state="create-complete",
    depth=1,
    locale=None,
)
SCOPE = ScopeFacts("ipam-scope-0000000000000000a", "private", ("us-east-1",))


def tag_spec(*pairs):
    return [{"ResourceType": "ipam-pool", "Tags": [{"Key": k, "Value": v} for k, v in pairs]}]


@pytest.mark.parametrize("char", UNSAFE, ids=[f"U+{ord(c):04X}" for c in UNSAFE])
def test_a_character_xml_cannot_carry_is_refused(char):
    (found,) = rules.check_text({"Description": f"bad{char}text"})

    assert (found.code, found.field, found.aws_code) == (
        "text_not_xml_safe",
        "Description",
        "InvalidParameterValue",
    )
    assert found.message == (
        f"Description contains a character AWS cannot carry (U+{ord(char):04X} at position 4)."
    )


@pytest.mark.parametrize("char", SAFE, ids=[f"U+{ord(c[0]):04X}" for c in SAFE])
def test_what_xml_carries_is_accepted(char):
    assert rules.check_text({"Description": f"a{char}b"}) == []


@pytest.mark.parametrize(
    ("request_", "path"),
    [
        ({"TagSpecifications": tag_spec(("a", "b"), ("c\x01", "d"))}, "[0].Tags[1].Key"),
        ({"TagSpecifications": tag_spec(("a", "b\x1f"))}, "[0].Tags[0].Value"),
        ({"AllocationResourceTags": [{"Key": "k", "Value": "\x00"}]}, "[0].Value"),
        ({"SourceResource": {"ResourceId": "vpc-\x02"}}, ".ResourceId"),
        ({"AllowedCidrs": ["10.0.0.0/8", "10.\x0b"]}, "[1]"),
        ({"ClientToken": "\uffff"}, ""),
    ],
)
def test_the_member_is_named_by_its_path(request_, path):
    (found,) = rules.check_text(request_)

    member = next(iter(request_))
    assert found.field == member
    assert found.message.startswith(f"{member}{path} contains a character AWS cannot carry")


def test_only_the_first_is_reported_and_other_values_are_ignored():
    request = {
        "AllocationMinNetmaskLength": 16,
        "AutoImport": True,
        "Description": "fine",
        "OperatingRegions": [{"RegionName": "us-east-1"}],
        "TagSpecifications": tag_spec(("x\x01", "y\x02")),
        "ClientToken": "\x03",
    }

    found = rules.check_text(request)

    assert [(v.field, v.message) for v in found] == [
        (
            "TagSpecifications",
            "TagSpecifications[0].Tags[0].Key contains a character AWS cannot carry "
            "(U+0001 at position 2).",
        )
    ]
    assert rules.check_text({"Description": "x", "AllocationMinNetmaskLength": 16}) == []


BAD = {"Description": "bad\x01text"}


@pytest.mark.parametrize(
    "check",
    [
        lambda: rules.create_ipam_pool_syntax(
            {"IpamScopeId": "s", "AddressFamily": "ipv4", "Locale": "", **BAD}
        ),
        lambda: rules.check_create_ipam_pool(
            {"IpamScopeId": "s", "AddressFamily": "ipv4", "AllocationMinNetmaskLength": 99, **BAD},
            scope=SCOPE,
        ),
        lambda: rules.check_modify_ipam_pool({"IpamPoolId": POOL.pool_id, **BAD}, pool=POOL),
        lambda: rules.check_allocate_ipam_pool_cidr(
            {"IpamPoolId": POOL.pool_id, "NetmaskLength": 99, **BAD}, pool=POOL
        ),
        lambda: rules.check_provision_ipam_pool_cidr(
            {"IpamPoolId": POOL.pool_id, "Cidr": "10.0.0.0/8\x01"},
            pool=POOL,
            source=None,
            scope=SCOPE,
        ),
        lambda: rules.check_create_ipam({**BAD}, region="us-east-1", ipams_in_region=5),
        lambda: rules.check_create_ipam_scope({"IpamId": "i", **BAD}, scope_count=99),
    ],
    ids=[
        "create_ipam_pool_syntax",
        "check_create_ipam_pool",
        "check_modify_ipam_pool",
        "check_allocate_ipam_pool_cidr",
        "check_provision_ipam_pool_cidr",
        "check_create_ipam",
        "check_create_ipam_scope",
    ],
)
def test_every_request_check_judges_the_text_first_and_alone(check):
    assert [v.code for v in check()] == ["text_not_xml_safe"]
