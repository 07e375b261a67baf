"""Helpers for the app's integration tests: requests seen by the endpoint, pools, specs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.client import ClientCreator
from botocore.retries.standard import ExponentialBackoff
from django.contrib.auth.models import Permission

import ipamsim
from pools.aws import ec2_client
from pools.models import IpamPool, IpamScope
from pools.services import PoolSpec

_service_models: dict[tuple[Any, ...], Any] = {}


@pytest.fixture(autouse=True)
def shared_service_models(monkeypatch) -> None:
    """Every test builds new EC2 clients; read botocore's EC2 model (megabytes of JSON) once."""
    load = ClientCreator._load_service_model

    def cached(self, service_name, api_version=None):
        key = (service_name, api_version)
        if key not in _service_models:
            _service_models[key] = load(self, service_name, api_version)
        return _service_models[key]

    monkeypatch.setattr(ClientCreator, "_load_service_model", cached)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_retry_delay(monkeypatch) -> None:
    """botocore still retries, but without sleeping between attempts."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


class SentRequests:
    """The actions the app's EC2 client sends (each attempt, retries included)."""

    def __init__(self) -> None:
        self.actions: list[str] = []
        self.hooks: list[Callable[[str], None]] = []

    def __call__(self, request: Any, **_: Any) -> None:
        body = request.body or b""
        if isinstance(body, bytes):
            body = body.decode()
        action = dict(pair.split("=", 1) for pair in body.split("&") if "=" in pair).get(
            "Action", ""
        )
        self.actions.append(action)
        for hook in self.hooks:
            hook(action)

    def count(self, action: str) -> int:
        return self.actions.count(action)


@pytest.fixture
def sent(sim: ipamsim.Simulator) -> SentRequests:
    """Every request the app sends, recorded before the endpoint answers it."""
    recorder = SentRequests()
    ec2_client().meta.events.register_first("before-send.ec2", recorder)
    return recorder


@pytest.fixture
def private_scope(demo) -> IpamScope:
    return IpamScope.objects.get(scope_type="private", is_default=True)


@pytest.fixture
def public_scope(demo) -> IpamScope:
    return IpamScope.objects.get(scope_type="public", is_default=True)


@pytest.fixture
def client_may(client: Any, django_user_model: Any, demo: Any) -> Callable[[str], Any]:
    """``client_may("delete_ipampool")``: the test client, logged in as a user with just that
    permission besides reading (pools.view_ipampool)."""

    def login(codename: str, username: str = "") -> Any:
        user = django_user_model.objects.create_user(username or f"may-{codename}")
        user.user_permissions.add(
            *Permission.objects.filter(codename__in=[codename, "view_ipampool"])
        )
        client.force_login(user)
        return client

    return login


@pytest.fixture
def editor(client_may: Callable[..., Any]) -> Any:
    """A user who may create pools (by permission, not as a superuser)."""
    return client_may("add_ipampool", "editor")


def pool_named(name: str) -> IpamPool:
    return IpamPool.objects.get(name=name)


def aws_pools(sim: ipamsim.Simulator, **params: Any) -> list[dict[str, Any]]:
    """Every pool the endpoint has (all pages)."""
    found, token = [], None
    while True:
        paging = {"NextToken": token} if token else {}
        page = sim.call("DescribeIpamPools", MaxResults=1000, **params, **paging)
        found += page["IpamPools"]
        token = page.get("NextToken")
        if not token:
            return found


def aws_pool(sim: ipamsim.Simulator, pool_id: str) -> dict[str, Any]:
    return sim.call("DescribeIpamPools", IpamPoolIds=[pool_id])["IpamPools"][0]


def spec(scope: IpamScope, **fields: Any) -> PoolSpec:
    return PoolSpec(scope=scope, **{"address_family": "ipv4", **fields})


def build_hierarchy(sim: ipamsim.Simulator, total: int) -> list[str]:
    """An IPAM with ``total`` pools in its private scope: a chain to depth 10, then wide levels.

    Returns the pool ids in creation order.
    """
    sim.config.max_pools_per_scope = total + 10
    ipam = sim.call(
        "CreateIpam",
        Description="scale",
        OperatingRegions=[{"RegionName": "us-east-1"}, {"RegionName": "us-west-2"}],
    )["Ipam"]
    scope = ipam["PrivateDefaultScopeId"]
    chain: list[str] = []
    for depth in range(1, 11):
        params = {"SourceIpamPoolId": chain[-1]} if chain else {}
        created = sim.call(
            "CreateIpamPool",
            IpamScopeId=scope,
            AddressFamily="ipv4",
            Description=f"level {depth}",
            TagSpecifications=[
                {"ResourceType": "ipam-pool", "Tags": [{"Key": "Name", "Value": f"chain-{depth}"}]}
            ],
            **params,
        )
        chain.append(created["IpamPool"]["IpamPoolId"])
    ids = list(chain)
    for index in range(total - len(chain)):
        parent = chain[index % 9]
        created = sim.call(
            "CreateIpamPool",
            IpamScopeId=scope,
            AddressFamily="ipv4",
            SourceIpamPoolId=parent,
            Description=f"wide {index}",
            TagSpecifications=[
                {"ResourceType": "ipam-pool", "Tags": [{"Key": "team", "Value": f"t{index % 7}"}]}
            ],
        )
        ids.append(created["IpamPool"]["IpamPoolId"])
    return ids
