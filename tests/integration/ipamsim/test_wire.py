"""The wire: raw Query requests that boto3 would never send, the XML, Regions, threads."""

from __future__ import annotations

import http.client
import threading
from urllib.parse import urlsplit

import pytest

from ipamsim.operations import OPERATIONS
from tests.integration.ipamsim.support import (
    POOL_ID,
    error_code,
    http_client,
    raw_request,
    signed_for,
)

NS = "{http://ec2.amazonaws.com/doc/2016-11-15/}"
VERSION = {"Version": "2016-11-15"}


def ask(server, params, **kwargs):
    return raw_request(server.url, params, **kwargs)


def test_a_success_body_is_ec2_xml(shared_server, world):
    status, root = ask(shared_server, {"Action": "DescribeIpams", **VERSION})

    assert status == 200
    assert root.tag == f"{NS}DescribeIpamsResponse"
    assert root[0].tag == f"{NS}requestId"
    assert root[0].text
    items = root.findall(f"{NS}ipamSet/{NS}item")
    assert [i.findtext(f"{NS}ipamId") for i in items] == [world.ipam_id]
    assert root.find(f"{NS}nextToken") is None


def test_an_error_body_is_ec2_xml(shared_server, sim):
    status, root = ask(shared_server, {"Action": "DescribeIpams", **VERSION, "IpamId.1": "ipam-0"})

    assert status == 400
    assert root.tag == "Response"
    assert root.findtext("Errors/Error/Code") == "InvalidIpamId.NotFound"
    assert root.findtext("Errors/Error/Message")
    assert root.findtext("RequestID")


def test_unset_members_are_left_out(shared_server, world):
    pool = world.pool()
    status, root = ask(
        shared_server, {"Action": "DescribeIpamPools", **VERSION, "IpamPoolId.1": pool}
    )

    item = root.find(f"{NS}ipamPoolSet/{NS}item")
    assert status == 200
    assert item.find(f"{NS}description") is None
    assert item.find(f"{NS}allocationDefaultNetmaskLength") is None
    assert item.find(f"{NS}sourceIpamPoolId") is None
    assert item.findtext(f"{NS}locale") == "None"
    assert item.findtext(f"{NS}autoImport") == "false"


def test_unknown_action(shared_server, sim):
    status, root = ask(shared_server, {"Action": "LaunchRocket", **VERSION})

    assert (status, error_code(root)) == (400, "InvalidAction")


def test_an_ec2_action_the_endpoint_does_not_implement(shared_server, sim):
    status, root = ask(shared_server, {"Action": "DescribeVpcs", **VERSION})

    assert (status, error_code(root)) == (400, "InvalidAction")


def test_missing_action(shared_server, sim):
    status, root = ask(shared_server, VERSION)

    assert (status, error_code(root)) == (400, "MissingAction")


@pytest.mark.parametrize(
    "body",
    [
        "Action=DescribeIpams&Version=2016-11-15&broken",
        "Action=DescribeIpams&Version=2016-11-15&Filter.1=x&Filter.1.Name=y",
        "Action=DescribeIpams&Version=2016-11-15&Filter.1.Name=y&Filter.1=x",
        "Action=DescribeIpams&Version=2016-11-15&Filter.one.Name=y",
        "Action=DescribeIpams&Version=2016-11-15&Filter.0.Name=y",
        "Action=DescribeIpams&Version=2016-11-15&IpamId.1.x=y",
    ],
    ids=["no-equals", "scalar-then-list", "list-then-scalar", "bad-index", "zero-index", "deep"],
)
def test_malformed_query_string(shared_server, sim, body):
    status, root = ask(shared_server, body)

    assert (status, error_code(root)) == (400, "MalformedQueryString")


def test_unknown_parameter(shared_server, sim):
    status, root = ask(shared_server, {"Action": "DescribeIpams", **VERSION, "Colour": "blue"})

    assert (status, error_code(root)) == (400, "UnknownParameter")


def test_unknown_nested_parameter(shared_server, sim):
    params = {"Action": "DescribeIpams", **VERSION, "Filter.1.Name": "x", "Filter.1.Colour": "y"}

    status, root = ask(shared_server, params)

    assert (status, error_code(root)) == (400, "UnknownParameter")


def test_modify_ipam_pool_has_no_locale_on_the_wire(shared_server, world):
    params = {
        "Action": "ModifyIpamPool",
        **VERSION,
        "IpamPoolId": world.pool(),
        "Locale": "us-west-2",
    }

    status, root = ask(shared_server, params)

    assert (status, error_code(root)) == (400, "UnknownParameter")


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("CreateIpamPool", {"AddressFamily": "ipv4"}),
        ("CreateIpamPool", {"IpamScopeId": "ipam-scope-0"}),
        ("ModifyIpamPool", {"Description": "x"}),
        ("ReleaseIpamPoolAllocation", {"IpamPoolId": "p", "Cidr": "10.0.0.0/8"}),
    ],
)
def test_missing_required_member(shared_server, sim, action, params):
    status, root = ask(shared_server, {"Action": action, **VERSION, **params})

    assert (status, error_code(root)) == (400, "MissingParameter")


@pytest.mark.parametrize(
    "params",
    [
        {"AllocationMinNetmaskLength": "sixteen"},
        {"AllocationMinNetmaskLength": "-1"},
        {"AutoImport": "yes"},
        {"AddressFamily": "ipv5"},
    ],
)
def test_values_botocore_would_refuse_reach_the_endpoint(shared_server, world, params):
    request = {
        "Action": "CreateIpamPool",
        **VERSION,
        "IpamScopeId": world.private_scope,
        "AddressFamily": "ipv4",
    } | params

    status, root = ask(shared_server, request)

    assert (status, error_code(root)) == (400, "InvalidParameterValue")


def test_query_keys_follow_the_model(shared_server, world):
    params = {
        "Action": "CreateIpamPool",
        **VERSION,
        "IpamScopeId": world.private_scope,
        "AddressFamily": "ipv4",
        "Locale": "us-east-1",
        "AllocationResourceTag.1.Key": "env",
        "AllocationResourceTag.1.Value": "prod",
        "TagSpecification.1.ResourceType": "ipam-pool",
        "TagSpecification.1.Tag.1.Key": "Name",
        "TagSpecification.1.Tag.1.Value": "raw",
        "TagSpecification.1.Tag.2.Key": "team",
        "TagSpecification.1.Tag.2.Value": "",
        "AutoImport": "true",
        "AllocationMaxNetmaskLength": "28",
    }

    status, root = ask(shared_server, params)

    pool = root.find(f"{NS}ipamPool")
    assert status == 200
    assert POOL_ID.match(pool.findtext(f"{NS}ipamPoolId"))
    assert pool.findtext(f"{NS}allocationMaxNetmaskLength") == "28"
    assert pool.findtext(f"{NS}autoImport") == "true"
    tags = pool.findall(f"{NS}tagSet/{NS}item")
    assert [(t.findtext(f"{NS}key"), t.findtext(f"{NS}value") or "") for t in tags] == [
        ("Name", "raw"),
        ("team", ""),
    ]
    resource_tags = pool.findall(f"{NS}allocationResourceTagSet/{NS}item")
    assert [t.findtext(f"{NS}key") for t in resource_tags] == ["env"]


def test_list_indexes_give_the_order(shared_server, world):
    params = {
        "Action": "DescribeIpamScopes",
        **VERSION,
        "Filter.2.Name": "ipam-scope-type",
        "Filter.2.Value.1": "public",
        "Filter.1.Name": "ipam-id",
        "Filter.1.Value.10": "ipam-0",
        "Filter.1.Value.9": world.ipam_id,
    }

    status, root = ask(shared_server, params)

    items = root.findall(f"{NS}ipamScopeSet/{NS}item")
    assert status == 200
    assert [i.findtext(f"{NS}ipamScopeId") for i in items] == [world.public_scope]


def test_a_get_request_with_a_query_string(shared_server, world):
    status, root = ask(shared_server, {"Action": "DescribeIpams", **VERSION}, method="GET")

    assert status == 200
    assert root.find(f"{NS}ipamSet/{NS}item/{NS}ipamId").text == world.ipam_id


def test_the_region_comes_from_the_credential_scope(shared_server, world):
    _, west = ask(
        shared_server, {"Action": "DescribeIpams", **VERSION}, headers=signed_for("us-west-2")
    )
    _, home = ask(
        shared_server, {"Action": "DescribeIpams", **VERSION}, headers=signed_for("us-east-1")
    )
    _, unsigned = ask(shared_server, {"Action": "DescribeIpams", **VERSION})

    assert west.find(f"{NS}ipamSet/{NS}item") is None
    assert home.find(f"{NS}ipamSet/{NS}item") is not None
    assert unsigned.find(f"{NS}ipamSet/{NS}item") is not None


def test_keep_alive_serves_several_requests_on_one_connection(shared_server, world):
    url = urlsplit(shared_server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        for _ in range(3):
            connection.request(
                "POST",
                "/",
                body="Action=DescribeIpams&Version=2016-11-15",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            response = connection.getresponse()
            assert response.status == 200
            response.read()
    finally:
        connection.close()


def test_concurrent_creates_over_http(shared_server, world):
    errors: list[BaseException] = []
    made: list[str] = []
    lock = threading.Lock()
    clients = [http_client(shared_server.url) for _ in range(4)]

    def work(ec2):
        try:
            for _ in range(5):
                pool = ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4")
                with lock:
                    made.append(pool["IpamPool"]["IpamPoolId"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(made) == len(set(made)) == 20
    listed = clients[0].describe_ipam_pools()["IpamPools"]
    assert sorted(p["IpamPoolId"] for p in listed) == sorted(made)


def test_an_endpoint_bug_still_answers_like_ec2(shared_server, sim, monkeypatch):
    def broken(ctx, params):
        raise RuntimeError("boom")

    monkeypatch.setitem(OPERATIONS, "DescribeIpams", broken)

    status, root = ask(shared_server, {"Action": "DescribeIpams", **VERSION})

    assert (status, error_code(root)) == (500, "InternalError")
    assert root.findtext("RequestID")
