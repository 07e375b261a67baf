"""DryRun, and misbehaviour on demand: deny, throttle, latency, failures, unreachable."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import EndpointConnectionError

import ipamsim
from tests.integration.ipamsim.support import api_error, message

DRY_RUN = "Request would have succeeded, but DryRun flag is set."
UNAUTHORIZED = "You are not authorized to perform this operation."


def every_operation(world):
    """One valid call of each operation, as (method name, params)."""
    pool = world.provisioned_pool("10.0.0.0/16", Locale="us-east-1")
    allocation = world.sim.call("AllocateIpamPoolCidr", IpamPoolId=pool, NetmaskLength=24)
    allocation = allocation["IpamPoolAllocation"]
    scope = world.scope()
    return [
        ("create_ipam", {}),
        ("describe_ipams", {}),
        ("modify_ipam", {"IpamId": world.ipam_id, "Description": "x"}),
        ("delete_ipam", {"IpamId": world.ipam_id, "Cascade": True}),
        ("create_ipam_scope", {"IpamId": world.ipam_id}),
        ("describe_ipam_scopes", {}),
        ("delete_ipam_scope", {"IpamScopeId": scope}),
        ("create_ipam_pool", {"IpamScopeId": world.private_scope, "AddressFamily": "ipv4"}),
        ("describe_ipam_pools", {}),
        ("modify_ipam_pool", {"IpamPoolId": pool, "Description": "x"}),
        ("delete_ipam_pool", {"IpamPoolId": pool, "Cascade": True}),
        ("provision_ipam_pool_cidr", {"IpamPoolId": pool, "Cidr": "10.1.0.0/16"}),
        ("get_ipam_pool_cidrs", {"IpamPoolId": pool}),
        ("deprovision_ipam_pool_cidr", {"IpamPoolId": pool, "Cidr": "10.0.0.0/16"}),
        ("allocate_ipam_pool_cidr", {"IpamPoolId": pool, "NetmaskLength": 24}),
        ("get_ipam_pool_allocations", {"IpamPoolId": pool}),
        (
            "release_ipam_pool_allocation",
            {
                "IpamPoolId": pool,
                "IpamPoolAllocationId": allocation["IpamPoolAllocationId"],
                "Cidr": allocation["Cidr"],
            },
        ),
    ]


def snapshot(sim):
    return {kind: len(objects) for kind, objects in sim.store.objects.items()}


def test_dry_run_answers_412_for_every_operation(ec2, world):
    calls = every_operation(world)
    before, tokens = snapshot(world.sim), dict(world.sim.store.tokens)

    for method, params in calls:
        with api_error("DryRunOperation", 412) as info:
            getattr(ec2, method)(DryRun=True, **params)
        assert message(info) == DRY_RUN, method

    assert snapshot(world.sim) == before
    assert world.sim.store.tokens == tokens


def test_deny_answers_403_for_every_operation_and_dry_run(ec2, world):
    calls = every_operation(world)
    world.sim.faults.update({"deny": True})

    for method, params in calls:
        for dry_run in (True, False):
            with api_error("UnauthorizedOperation", 403) as info:
                getattr(ec2, method)(DryRun=dry_run, **params)
            assert message(info) == UNAUTHORIZED


def test_deny_actions_denies_only_those(ec2, world):
    world.sim.faults.update({"deny_actions": ["CreateIpamPool"]})

    with api_error("UnauthorizedOperation", 403):
        ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4", DryRun=True)
    assert ec2.describe_ipam_pools()["IpamPools"] == []
    with api_error("DryRunOperation", 412):
        ec2.create_ipam_scope(IpamId=world.ipam_id, DryRun=True)


@pytest.fixture
def no_backoff(monkeypatch):
    """botocore waits before each retry; these tests need no wait."""
    monkeypatch.setattr(
        "botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0
    )


def test_throttling_fails_once_retries_run_out(make_client, world, no_backoff):
    world.sim.faults.update({"throttle_rate": 1.0})
    ec2 = make_client(config=BotoConfig(retries={"max_attempts": 2, "mode": "standard"}))

    with api_error("RequestLimitExceeded", 503) as info:
        ec2.describe_ipam_pools()

    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == 2  # 2 after the first


def test_throttling_is_retried_until_it_succeeds(make_client, use_sim, no_backoff):
    sim = use_sim(seed=3)
    sim.faults.update({"throttle_rate": 0.5})
    ec2 = make_client(config=BotoConfig(retries={"max_attempts": 10, "mode": "standard"}))

    answers = [ec2.describe_ipams() for _ in range(10)]

    retried = [a["ResponseMetadata"]["RetryAttempts"] for a in answers]
    assert all(a["Ipams"] == [] for a in answers)
    assert sum(retried) > 0


def test_latency_delays_every_answer(ec2, sim):
    ec2.describe_ipams()
    sim.faults.update({"latency": 0.05})

    started = time.perf_counter()
    ec2.describe_ipams()

    assert time.perf_counter() - started >= 0.05


def test_fail_next_creates_fails_only_that_many_pools(ec2, world):
    world.sim.faults.update({"fail_next_creates": 2, "fail_message": "Out of luck."})
    made = [
        ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4")["IpamPool"]
        for _ in range(3)
    ]

    pools = ec2.describe_ipam_pools()["IpamPools"]
    assert [p["IpamPoolId"] for p in pools] == [p["IpamPoolId"] for p in made]
    assert [p["State"] for p in pools] == ["create-failed", "create-failed", "create-complete"]
    assert [p.get("StateMessage") for p in pools] == ["Out of luck.", "Out of luck.", None]


def test_unreachable_in_process(local, sim):
    sim.faults.update({"unreachable": True})

    with pytest.raises(EndpointConnectionError):
        local.describe_ipams()
    sim.faults.update({"unreachable": False})
    assert local.describe_ipams()["Ipams"] == []


def test_faults_as_a_dict(sim):
    sim.faults.update({"deny_actions": ["CreateIpamPool", "CreateIpam"], "latency": 0.5})

    assert sim.faults.as_dict()["deny_actions"] == ["CreateIpam", "CreateIpamPool"]
    assert sim.faults.as_dict()["latency"] == 0.5
    with pytest.raises(ValueError, match="unknown fault"):
        sim.faults.update({"colour": "red"})


# --- the HTTP control endpoint ------------------------------------------------------------------


def control(server, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{server.url}{path}", data=data, method="POST" if data else "GET"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_health(shared_server, sim):
    assert control(shared_server, "/_ipamsim/health") == (200, {"status": "ok"})


def test_get_faults(shared_server, sim):
    status, faults = control(shared_server, "/_ipamsim/faults")

    assert status == 200
    assert faults == ipamsim.Faults().as_dict()


def test_post_faults_changes_the_endpoint(shared_server, make_client, world):
    status, faults = control(shared_server, "/_ipamsim/faults", {"deny_actions": ["DescribeIpams"]})

    assert status == 200
    assert faults["deny_actions"] == ["DescribeIpams"]
    assert world.sim.faults.denies("DescribeIpams")
    ec2 = make_client()
    with api_error("UnauthorizedOperation", 403):
        ec2.describe_ipams()
    control(shared_server, "/_ipamsim/faults", {"deny_actions": []})
    assert ec2.describe_ipams()["Ipams"]


@pytest.mark.parametrize("body", [{"colour": "red"}, "not json"])
def test_post_faults_refuses_what_it_does_not_know(shared_server, sim, body):
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{shared_server.url}/_ipamsim/faults", data=data, method="POST"
    )

    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)

    assert info.value.code == 400
    assert "error" in json.loads(info.value.read())


def test_an_unknown_control_path_is_404(shared_server, sim):
    assert control(shared_server, "/_ipamsim/nothing")[0] == 404


@pytest.mark.parametrize(
    "body",
    [
        {"throttle_rate": "high"},
        {"latency": -1},
        {"deny": "yes"},
        {"fail_next_creates": 1.5},
        {"deny_actions": [1, 2]},
        {"deny_actions": 5},
        {"deny_actions": {"CreateIpamPool": True}},
        {"unreachable": None},
        {"latency": float("nan")},
        {"latency": float("inf")},
        {"latency": 1e308},
        {"latency": 60.5},
        {"latency": True},
        {"throttle_rate": 5},
        {"throttle_rate": 1.01},
        {"throttle_rate": -0.5},
        {"mutation_conflict_rate": 2},
        {"mutation_conflict_rate": float("nan")},
        {"fail_next_creates": -1},
        {"fail_next_creates": 10_001},
        {"fail_next_creates": 1e308},
        {"fail_next_creates": 10**400},
        {"fail_next_creates": True},
    ],
)
def test_post_faults_refuses_wrong_types_and_changes_nothing(shared_server, sim, body):
    status, answer = control(shared_server, "/_ipamsim/faults", {"latency": 0.25} | body)

    assert status == 400
    assert "error" in answer
    assert sim.faults.as_dict() == ipamsim.Faults().as_dict()


@pytest.mark.parametrize(
    "body",
    [{"latency": float("nan")}, {"throttle_rate": 5}, {"mutation_conflict_rate": float("inf")}],
)
def test_a_refused_fault_leaves_the_endpoint_answering(local, sim, body):
    with pytest.raises(ValueError, match="must be a number from 0 to"):
        sim.faults.update(body)

    assert local.describe_ipams()["Ipams"] == []
    assert local.create_ipam()["Ipam"]["IpamId"]


def test_faults_at_their_limits_are_accepted(sim):
    limits = {
        "throttle_rate": 1,
        "mutation_conflict_rate": 1.0,
        "latency": 60,
        "fail_next_creates": 10_000,
    }

    sim.faults.update(limits)

    assert {k: sim.faults.as_dict()[k] for k in limits} == limits
    sim.faults.update({"throttle_rate": 0, "latency": 0.0, "fail_next_creates": 0.0})
    assert sim.faults.as_dict() == ipamsim.Faults().as_dict() | {"mutation_conflict_rate": 1.0}


def test_deny_actions_may_be_one_name(sim):
    sim.faults.update({"deny_actions": "CreateIpamPool"})

    assert sim.faults.as_dict()["deny_actions"] == ["CreateIpamPool"]
