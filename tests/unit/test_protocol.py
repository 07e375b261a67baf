"""ipamsim.protocol against botocore itself: what botocore sends parses back, what the endpoint
writes botocore reads back, for every operation the endpoint implements."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from ipamsim import protocol
from ipamsim.errors import ApiError
from ipamsim.operations import OPERATIONS

IMPLEMENTED = sorted(OPERATIONS)
TEXTS = itertools.cycle(["plain", "a <b> & \"c\" 'd'", "é ü 漢字", "x=1&y=2 + z%20", "  padded  "])


def sample(shape: Any, name: str = "") -> Any:
    """A representative value for ``shape``: every member set, lists of two, varied text (an
    operation without output, such as CreateTags, answers nothing but its request id)."""
    if shape is None:
        return {}
    kind = shape.type_name
    if kind == "structure":
        return {
            member: sample(member_shape, member) for member, member_shape in shape.members.items()
        }
    if kind == "list":
        return [sample(shape.member, name) for _ in range(2)]
    if kind == "boolean":
        return len(name) % 2 == 0
    if kind in ("integer", "long"):
        low = shape.metadata.get("min", 0)
        return max(low, 7)
    if kind == "string":
        if shape.enum:
            return shape.enum[len(name) % len(shape.enum)]
        return f"{name} {next(TEXTS)}"
    raise AssertionError(f"no sample for a {kind}")


def test_the_endpoint_implements_the_documented_operations():
    documented = [
        "CreateIpam",
        "DescribeIpams",
        "ModifyIpam",
        "DeleteIpam",
        "CreateIpamScope",
        "DescribeIpamScopes",
        "DeleteIpamScope",
        "CreateIpamPool",
        "DescribeIpamPools",
        "ModifyIpamPool",
        "DeleteIpamPool",
        "ProvisionIpamPoolCidr",
        "GetIpamPoolCidrs",
        "DeprovisionIpamPoolCidr",
        "AllocateIpamPoolCidr",
        "GetIpamPoolAllocations",
        "ReleaseIpamPoolAllocation",
        "CreateTags",
        "DeleteTags",
    ]

    assert sorted(documented) == IMPLEMENTED


# --- responses: write_response, then botocore's EC2 parser --------------------------------------


def parse_response(action: str, body: bytes, status: int = 200) -> dict[str, Any]:
    model = protocol.operation_model(action)
    parsed = create_parser("ec2").parse(
        {"body": body, "headers": {}, "status_code": status}, model.output_shape
    )
    parsed.pop("ResponseMetadata")
    return parsed


@pytest.mark.parametrize("action", IMPLEMENTED)
def test_every_output_shape_round_trips_through_botocore(action):
    model = protocol.operation_model(action)
    output = sample(model.output_shape)

    body = protocol.write_response(model, output, "req-1")

    assert parse_response(action, body) == output


@pytest.mark.parametrize("action", IMPLEMENTED)
def test_the_response_root_and_request_id(action):
    model = protocol.operation_model(action)

    body = protocol.write_response(model, sample(model.output_shape), "req-42")

    root = ET.fromstring(body)
    assert root.tag == f"{{{protocol.XMLNS}}}{action}Response"
    assert root[0].tag == f"{{{protocol.XMLNS}}}requestId"
    assert root[0].text == "req-42"


def test_unset_members_are_left_out():
    model = protocol.operation_model("CreateIpamPool")
    pool = {"IpamPoolId": "ipam-pool-1", "Description": None, "PoolDepth": 1}

    body = protocol.write_response(model, {"IpamPool": pool}, "r")

    assert b"description" not in body
    assert parse_response("CreateIpamPool", body) == {
        "IpamPool": {"IpamPoolId": "ipam-pool-1", "PoolDepth": 1}
    }


def test_empty_values_false_and_zero_round_trip():
    pool = {
        "Tags": [],
        "AllocationResourceTags": [],
        "AutoImport": False,
        "AllocationMinNetmaskLength": 0,
        "Description": "",
    }
    body = protocol.write_response(
        protocol.operation_model("ModifyIpamPool"), {"IpamPool": pool}, "r"
    )

    assert parse_response("ModifyIpamPool", body) == {"IpamPool": pool}


def test_next_token_only_when_given():
    model = protocol.operation_model("DescribeIpamPools")

    without = protocol.write_response(model, {"IpamPools": [], "NextToken": None}, "r")
    with_token = protocol.write_response(model, {"IpamPools": [], "NextToken": "abc"}, "r")

    assert b"nextToken" not in without
    assert parse_response("DescribeIpamPools", with_token)["NextToken"] == "abc"


def test_private_keys_never_leak():
    body = protocol.write_response(
        protocol.operation_model("DescribeIpamPools"),
        {"IpamPools": [{"IpamPoolId": "p", "_scope": "secret", "_seq": 3}]},
        "r",
    )

    assert b"secret" not in body
    assert b"_seq" not in body


def test_an_error_body_as_botocore_reads_it():
    body = protocol.write_error("InvalidIpamPoolId.NotFound", "The <pool> & co", "req-7")

    parsed = create_parser("ec2").parse(
        {"body": body, "headers": {}, "status_code": 400},
        protocol.operation_model("DescribeIpamPools").output_shape,
    )
    root = ET.fromstring(body)

    assert parsed["Error"] == {"Code": "InvalidIpamPoolId.NotFound", "Message": "The <pool> & co"}
    assert parsed["ResponseMetadata"]["RequestId"] == "req-7"
    assert root.tag == "Response"
    assert root.findtext("RequestID") == "req-7"


UNSAFE_TEXT = "a\x00b\x01c\x0bd\x1fe\ud800f\udfffg\ufffeh\uffffi"
UNSAFE_READ = "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf\ufffdg\ufffdh\ufffdi"


def test_a_response_never_carries_what_xml_cannot():
    """State written before the endpoint refused such text still makes an answer botocore
    reads: each character XML 1.0 cannot carry comes back as U+FFFD, the rest as it was."""
    pool = {
        "IpamPoolId": "ipam-pool-1",
        "Description": UNSAFE_TEXT,
        "Tags": [{"Key": "k\x02", "Value": "v\x03 é 😀"}],
    }

    body = protocol.write_response(
        protocol.operation_model("DescribeIpamPools"), {"IpamPools": [pool]}, "r"
    )

    ET.fromstring(body)
    assert parse_response("DescribeIpamPools", body) == {
        "IpamPools": [
            {
                "IpamPoolId": "ipam-pool-1",
                "Description": UNSAFE_READ,
                "Tags": [{"Key": "k\ufffd", "Value": "v\ufffd é 😀"}],
            }
        ]
    }


def test_an_error_never_carries_what_xml_cannot():
    body = protocol.write_error("InvalidAction", f"The action {UNSAFE_TEXT} is not valid", "r")

    parsed = create_parser("ec2").parse(
        {"body": body, "headers": {}, "status_code": 400},
        protocol.operation_model("DescribeIpamPools").output_shape,
    )
    assert ET.fromstring(body).tag == "Response"
    assert parsed["Error"]["Message"] == f"The action {UNSAFE_READ} is not valid"


def test_tabs_newlines_and_carriage_returns_come_back_as_sent():
    pool = {"IpamPoolId": "ipam-pool-1", "Description": "a\tb\r\nc\rd\ne"}

    body = protocol.write_response(
        protocol.operation_model("DescribeIpamPools"), {"IpamPools": [pool]}, "r"
    )

    assert parse_response("DescribeIpamPools", body) == {"IpamPools": [pool]}


# --- requests: botocore's EC2 serializer, then parse_params -------------------------------------


def serialize(action: str, params: dict[str, Any]) -> dict[str, str]:
    """The form fields botocore sends, through urlencoding as on the wire."""
    request = create_serializer("ec2").serialize_to_request(
        params, protocol.operation_model(action)
    )
    body = request["body"]
    assert body.pop("Action") == action
    assert body.pop("Version") == "2016-11-15"
    return dict(parse_qsl(urlencode(body), keep_blank_values=True))


@pytest.mark.parametrize("action", IMPLEMENTED)
def test_every_input_shape_round_trips_from_botocore(action):
    model = protocol.operation_model(action)
    params = sample(model.input_shape)

    parsed = protocol.parse_params(model, serialize(action, params))

    assert parsed == params


@pytest.mark.parametrize("action", IMPLEMENTED)
def test_the_smallest_valid_request_of_every_operation(action):
    model = protocol.operation_model(action)
    required = {
        name: sample(model.input_shape.members[name], name)
        for name in model.input_shape.required_members
    }

    parsed = protocol.parse_params(model, serialize(action, required))

    assert parsed == required
    protocol.validate_input(model, parsed)


def test_the_spec_keys_for_create_ipam_pool():
    fields = serialize(
        "CreateIpamPool",
        {
            "IpamScopeId": "s",
            "AddressFamily": "ipv4",
            "AllocationResourceTags": [{"Key": "k", "Value": "v"}],
            "TagSpecifications": [{"ResourceType": "ipam-pool", "Tags": [{"Key": "a"}]}],
            "SourceResource": {"ResourceId": "vpc-1"},
            "AutoImport": True,
            "AllocationMinNetmaskLength": 8,
        },
    )

    assert fields == {
        "IpamScopeId": "s",
        "AddressFamily": "ipv4",
        "AllocationResourceTag.1.Key": "k",
        "AllocationResourceTag.1.Value": "v",
        "TagSpecification.1.ResourceType": "ipam-pool",
        "TagSpecification.1.Tag.1.Key": "a",
        "SourceResource.ResourceId": "vpc-1",
        "AutoImport": "true",
        "AllocationMinNetmaskLength": "8",
    }


def test_the_spec_keys_for_lists_of_strings():
    describe = serialize(
        "DescribeIpamPools",
        {"IpamPoolIds": ["a", "b"], "Filters": [{"Name": "n", "Values": ["x", "y"]}]},
    )
    allocate = serialize(
        "AllocateIpamPoolCidr",
        {"IpamPoolId": "p", "AllowedCidrs": ["10.0.0.0/8"], "DisallowedCidrs": ["10.0.0.0/9"]},
    )
    create = serialize("CreateIpam", {"OperatingRegions": [{"RegionName": "us-west-2"}]})

    assert describe == {
        "IpamPoolId.1": "a",
        "IpamPoolId.2": "b",
        "Filter.1.Name": "n",
        "Filter.1.Value.1": "x",
        "Filter.1.Value.2": "y",
    }
    assert allocate == {
        "IpamPoolId": "p",
        "AllowedCidr.1": "10.0.0.0/8",
        "DisallowedCidr.1": "10.0.0.0/9",
    }
    assert create == {"OperatingRegion.1.RegionName": "us-west-2"}


def test_list_items_come_back_in_index_order():
    model = protocol.operation_model("DescribeIpamPools")
    flat = {f"IpamPoolId.{n}": f"p{n}" for n in (10, 2, 1, 9)}

    assert protocol.parse_params(model, flat) == {"IpamPoolIds": ["p1", "p2", "p9", "p10"]}


# --- what botocore never sends ------------------------------------------------------------------


def refused(action: str, flat: dict[str, str]) -> str:
    model = protocol.operation_model(action)
    with pytest.raises(ApiError) as info:
        protocol.validate_input(model, protocol.parse_params(model, flat))
    assert info.value.status == 400
    return info.value.code


@pytest.mark.parametrize(
    ("action", "flat", "code"),
    [
        ("DescribeIpams", {"Colour": "blue"}, "UnknownParameter"),
        ("DescribeIpams", {"Filter.1.Colour": "blue"}, "UnknownParameter"),
        ("DescribeIpams", {"Filter.1": "x", "Filter.1.Name": "y"}, "MalformedQueryString"),
        ("DescribeIpams", {"Filter.x.Name": "y"}, "MalformedQueryString"),
        ("DescribeIpams", {"Filter.0.Name": "y"}, "MalformedQueryString"),
        ("DescribeIpams", {"Filter": "y"}, "MalformedQueryString"),
        ("DescribeIpams", {"IpamId.1.Name": "y"}, "MalformedQueryString"),
        ("DescribeIpams", {"MaxResults": "many"}, "InvalidParameterValue"),
        ("DescribeIpams", {"MaxResults": "4"}, "InvalidParameterValue"),
        ("DescribeIpams", {"MaxResults": "1001"}, "InvalidParameterValue"),
        ("DescribeIpams", {"DryRun": "maybe"}, "InvalidParameterValue"),
        ("CreateIpamPool", {"AddressFamily": "ipv4"}, "MissingParameter"),
        ("CreateIpamPool", {"IpamScopeId": "s", "AddressFamily": "ipv5"}, "InvalidParameterValue"),
        (
            "CreateIpamPool",
            {"IpamScopeId": "s", "AddressFamily": "ipv4", "AllocationMaxNetmaskLength": "129"},
            "InvalidParameterValue",
        ),
        (
            "CreateIpamPool",
            {"IpamScopeId": "s", "AddressFamily": "ipv4", "AllocationMaxNetmaskLength": "-1"},
            "InvalidParameterValue",
        ),
        (
            "CreateIpamPool",
            {"IpamScopeId": "s", "AddressFamily": "ipv4", "SourceResource": "vpc"},
            "MalformedQueryString",
        ),
        (
            "CreateIpamPool",
            {"IpamScopeId": "s", "AddressFamily": "ipv4", "SourceResource.ResourceType": "subnet"},
            "InvalidParameterValue",
        ),
        ("ReleaseIpamPoolAllocation", {"IpamPoolId": "p", "Cidr": "c"}, "MissingParameter"),
        (
            "GetIpamPoolAllocations",
            {"IpamPoolId": "p", "MaxResults": "999"},
            "InvalidParameterValue",
        ),
    ],
)
def test_requests_botocore_would_not_send(action, flat, code):
    assert refused(action, flat) == code


def test_more_than_fifty_operating_regions():
    flat = {f"OperatingRegion.{n}.RegionName": "us-east-1" for n in range(1, 52)}

    assert refused("CreateIpam", flat) == "InvalidParameterValue"
    assert protocol.parse_params(
        protocol.operation_model("CreateIpam"), dict(list(flat.items())[:50])
    )


def test_booleans_ignore_case():
    model = protocol.operation_model("DeleteIpamPool")

    parsed = protocol.parse_params(model, {"IpamPoolId": "p", "Cascade": "TRUE", "DryRun": "False"})

    assert parsed == {"IpamPoolId": "p", "Cascade": True, "DryRun": False}
