"""Helpers shared by the local endpoint's tests."""

from __future__ import annotations

import http.client
import json
import re
import socket
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

import ipamsim

ACCOUNT = "123456789012"
HOME = "us-east-1"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")

IPAM_ID = re.compile(r"^ipam-[0-9a-f]{17}$")
SCOPE_ID = re.compile(r"^ipam-scope-[0-9a-f]{17}$")
POOL_ID = re.compile(r"^ipam-pool-[0-9a-f]{17}$")
ALLOCATION_ID = re.compile(r"^ipam-pool-alloc-[0-9a-f]{33}$")
CIDR_ID = re.compile(r"^ipam-pool-cidr-[0-9a-f]+$")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextmanager
def api_error(code: str, status: int = 400) -> Iterator[pytest.ExceptionInfo[ClientError]]:
    """Expect an EC2 error with ``code`` and HTTP ``status``."""
    with pytest.raises(ClientError) as info:
        yield info
    response = info.value.response
    assert response["Error"]["Code"] == code, response["Error"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status


def message(info: pytest.ExceptionInfo[ClientError]) -> str:
    return info.value.response["Error"]["Message"]


def tag_spec(resource_type: str, **tags: str) -> list[dict[str, Any]]:
    return [
        {"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
    ]


def tags_of(obj: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in obj.get("Tags", [])}


def pool_state(ec2: Any, pool_id: str) -> str:
    return ec2.describe_ipam_pools(IpamPoolIds=[pool_id])["IpamPools"][0]["State"]


def cidrs_of(ec2: Any, pool_id: str) -> dict[str, str]:
    """``{cidr: state}`` of a pool's CIDRs."""
    found = ec2.get_ipam_pool_cidrs(IpamPoolId=pool_id)["IpamPoolCidrs"]
    return {c.get("Cidr"): c["State"] for c in found}


def allocations_of(ec2: Any, pool_id: str) -> list[dict[str, Any]]:
    return ec2.get_ipam_pool_allocations(IpamPoolId=pool_id)["IpamPoolAllocations"]


# --- clients and a small world --------------------------------------------------------------


# No retries: an endpoint error (even a 500) must fail the test, not be hidden by a retry.
NO_RETRIES = BotoConfig(retries={"total_max_attempts": 1})


def http_client(url: str, region: str = HOME, **kwargs: Any) -> Any:
    """A boto3 EC2 client for an endpoint URL, with dummy credentials."""
    session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name=region
    )
    return session.client("ec2", endpoint_url=url, **kwargs)


@dataclass
class World:
    """An IPAM operating in three Regions, with its two default scopes."""

    sim: ipamsim.Simulator
    ipam_id: str
    private_scope: str
    public_scope: str

    def pool(self, scope: str | None = None, **params: Any) -> str:
        """Create a pool directly in the simulator; returns its id."""
        params.setdefault("AddressFamily", "ipv4")
        result = self.sim.call("CreateIpamPool", IpamScopeId=scope or self.private_scope, **params)
        return result["IpamPool"]["IpamPoolId"]

    def provisioned_pool(self, cidr: str, scope: str | None = None, **params: Any) -> str:
        pool_id = self.pool(scope, **params)
        self.sim.call("ProvisionIpamPoolCidr", IpamPoolId=pool_id, Cidr=cidr)
        return pool_id

    def scope(self, **params: Any) -> str:
        result = self.sim.call("CreateIpamScope", IpamId=self.ipam_id, **params)
        return result["IpamScope"]["IpamScopeId"]


def make_world(sim: ipamsim.Simulator) -> World:
    ipam = sim.call(
        "CreateIpam",
        Description="test IPAM",
        OperatingRegions=[{"RegionName": r} for r in REGIONS],
        TagSpecifications=tag_spec("ipam", Name="test"),
    )["Ipam"]
    return World(sim, ipam["IpamId"], ipam["PrivateDefaultScopeId"], ipam["PublicDefaultScopeId"])


# --- raw HTTP, for what boto3 would never send ----------------------------------------------


def raw_request(
    url: str,
    params: dict[str, str] | str,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> tuple[int, ET.Element]:
    """Send a hand-made Query request; ``(status, parsed XML root)``."""
    body = params if isinstance(params, str) else urlencode(params)
    if method == "GET":
        request = urllib.request.Request(f"{url}/?{body}", method="GET")
    else:
        request = urllib.request.Request(
            f"{url}/",
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, ET.fromstring(response.read())
    except urllib.error.HTTPError as err:
        return err.code, ET.fromstring(err.read())


def error_code(root: ET.Element) -> str:
    """``Code`` of an EC2 error body (``<Response><Errors><Error>``)."""
    assert root.tag == "Response"
    code = root.findtext("Errors/Error/Code")
    assert code is not None
    return code


def signed_for(region: str) -> dict[str, str]:
    """An Authorization header as SigV4 writes it (the endpoint reads only the scope)."""
    return {
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential=x/20240101/{region}/ec2/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=0"
        )
    }


@dataclass
class Answer:
    """An HTTP answer read off a socket: status, headers (names in lower case), body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def xml(self) -> ET.Element:
        assert self.headers["content-type"].startswith("text/xml"), self.headers
        return ET.fromstring(self.body)

    def json(self) -> Any:
        assert self.headers["content-type"] == "application/json", self.headers
        return json.loads(self.body)


def exchange(
    url: str, data: bytes, *, half_close: bool = True, timeout: float = 15.0
) -> Answer | None:
    """Send ``data`` as it is on a new connection and read the first answer, or None if the
    server closed the connection without one. ``half_close`` ends the sending side after
    ``data``, so the server sees the end of the request at once."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may have answered and closed already: read what it said
        method = data.split(b" ", 1)[0].decode("latin-1")
        response = http.client.HTTPResponse(sock, method=method)
        try:
            response.begin()
            body = response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError):
            return None
        finally:
            response.close()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, headers, body)


def http_request(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    """The bytes of an HTTP/1.1 request, with a Content-Length unless ``headers`` set one."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    fields = {"Content-Length": str(len(body))} if body else {}
    for name, value in (fields | (headers or {})).items():
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
