"""What the app's apply engine is tested against: a provision delay of its own, provisions that
fail on demand, answers that never arrive, and a count of the requests per action."""

from __future__ import annotations

import concurrent.futures
import json
import urllib.error
import urllib.request
from collections import Counter

import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

import ipamsim
from ipamsim.__main__ import main
from ipamsim.seed import seed_demo
from tests.integration.ipamsim.conftest import endpoint_config
from tests.integration.ipamsim.support import (
    NO_RETRIES,
    FakeClock,
    World,
    allocations_of,
    api_error,
    http_client,
    make_world,
    pool_state,
)

RETRIES = BotoConfig(retries={"max_attempts": 3, "mode": "standard"})


@pytest.fixture
def no_backoff(monkeypatch):
    """botocore waits before each retry; these tests need no wait."""
    monkeypatch.setattr(
        "botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0
    )


def control(server, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{server.url}{path}", data=data, method="GET" if data is None else "POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def the_cidr(ec2, pool_id):
    (cidr,) = ec2.get_ipam_pool_cidrs(IpamPoolId=pool_id)["IpamPoolCidrs"]
    return cidr


def pool_count(sim) -> int:
    return len(sim.store.objects["pool"])


# --- the provision delay ----------------------------------------------------------------------


def clocked(use_sim, **config) -> tuple[ipamsim.Simulator, FakeClock, World]:
    clock = FakeClock()
    sim = use_sim(endpoint_config(**config), clock=clock)
    return sim, clock, make_world(sim)


def test_the_provision_delay_is_apart_from_the_create_delay(use_sim, local):
    _, clock, world = clocked(use_sim, create_delay=5, provision_delay=1)
    clock.advance(5)  # the IPAM and its scopes
    pool = local.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4")
    pool_id = pool["IpamPool"]["IpamPoolId"]

    clock.advance(1)
    assert pool_state(local, pool_id) == "create-in-progress"
    clock.advance(4)
    assert pool_state(local, pool_id) == "create-complete"

    local.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")
    clock.advance(0.5)
    assert the_cidr(local, pool_id)["State"] == "pending-provision"
    clock.advance(0.5)
    assert the_cidr(local, pool_id)["State"] == "provisioned"


def test_a_provision_delay_longer_than_the_create_delay(use_sim, local):
    _, clock, world = clocked(use_sim, create_delay=1, provision_delay=30)
    clock.advance(1)
    pool_id = world.pool()
    clock.advance(1)

    local.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")
    clock.advance(29)
    assert the_cidr(local, pool_id)["State"] == "pending-provision"
    clock.advance(1)
    assert the_cidr(local, pool_id)["State"] == "provisioned"


def test_deprovisioning_keeps_the_create_delay(use_sim, local):
    _, clock, world = clocked(use_sim, create_delay=2, provision_delay=10)
    clock.advance(2)
    pool_id = world.pool()
    clock.advance(2)
    local.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")
    clock.advance(10)

    local.deprovision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")
    clock.advance(2)
    assert the_cidr(local, pool_id)["State"] == "deprovisioned"


def test_without_a_provision_delay_the_create_delay_applies(use_sim, local):
    sim, clock, world = clocked(use_sim, create_delay=3)
    assert sim.config.provision_delay is None
    clock.advance(3)
    pool_id = world.pool()
    clock.advance(3)

    local.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")
    clock.advance(2.5)
    assert the_cidr(local, pool_id)["State"] == "pending-provision"
    clock.advance(0.5)
    assert the_cidr(local, pool_id)["State"] == "provisioned"


def test_the_failure_of_a_later_rule_waits_for_the_provision_delay(use_sim, local):
    _, clock, world = clocked(use_sim, create_delay=0, provision_delay=4)
    parent = world.pool()
    child = world.pool(SourceIpamPoolId=parent)

    local.provision_ipam_pool_cidr(IpamPoolId=child, NetmaskLength=24)  # no room: fails later
    clock.advance(3)
    assert the_cidr(local, child)["State"] == "pending-provision"
    clock.advance(1)
    assert the_cidr(local, child)["State"] == "failed-provision"


def test_python_m_ipamsim_takes_a_provision_delay(monkeypatch):
    made: list[ipamsim.Simulator] = []

    class Server:
        def __init__(self, simulator, *args, **kwargs):
            made.append(simulator)
            self.url = "http://127.0.0.1:0"

        def serve_forever(self):
            pass

        def server_close(self):
            pass

    monkeypatch.setattr("ipamsim.__main__.IpamServer", Server)
    monkeypatch.setattr("ipamsim.__main__.signal.signal", lambda *args: None)

    main(["--create-delay", "3", "--provision-delay", "0.5"])
    main(["--create-delay", "3"])

    assert [s.config.provision_seconds for s in made] == [0.5, 3.0]
    assert made[1].config.provision_delay is None


# --- failed provisions on demand --------------------------------------------------------------


@pytest.fixture
def parent(world):
    return world.provisioned_pool("10.0.0.0/16")


def test_fail_next_provisions_ends_failed_provision_and_gives_the_block_back(ec2, world, parent):
    child = world.pool(SourceIpamPoolId=parent)
    world.sim.faults.update({"fail_next_provisions": 1, "provision_fail_message": "No luck."})

    answer = ec2.provision_ipam_pool_cidr(IpamPoolId=child, NetmaskLength=24)["IpamPoolCidr"]

    assert answer["State"] == "pending-provision"
    assert answer["Cidr"] == "10.0.0.0/24"
    failed = the_cidr(ec2, child)
    assert failed["State"] == "failed-provision"
    assert failed["FailureReason"] == {"Code": "cidr-not-available", "Message": "No luck."}
    assert allocations_of(ec2, parent) == []
    assert world.sim.faults.fail_next_provisions == 0

    again = ec2.provision_ipam_pool_cidr(IpamPoolId=child, NetmaskLength=24)["IpamPoolCidr"]

    assert again["Cidr"] == "10.0.0.0/24"
    cidrs = ec2.get_ipam_pool_cidrs(IpamPoolId=child)["IpamPoolCidrs"]
    assert [c["State"] for c in cidrs] == ["failed-provision", "provisioned"]
    assert "FailureReason" not in cidrs[1]
    (allocation,) = allocations_of(ec2, parent)
    assert allocation["Cidr"] == "10.0.0.0/24"
    assert allocation["ResourceId"] == child


def test_a_failing_provision_holds_its_block_while_pending(use_sim, local):
    _, clock, world = clocked(use_sim, create_delay=0, provision_delay=5)
    parent = world.provisioned_pool("10.0.0.0/16")
    clock.advance(5)
    first, second = world.pool(SourceIpamPoolId=parent), world.pool(SourceIpamPoolId=parent)
    world.sim.faults.update({"fail_next_provisions": 1})

    local.provision_ipam_pool_cidr(IpamPoolId=first, NetmaskLength=24)
    local.provision_ipam_pool_cidr(IpamPoolId=second, NetmaskLength=24)

    assert len(allocations_of(local, parent)) == 2
    clock.advance(5)
    assert the_cidr(local, first)["FailureReason"]["Message"] == (
        "The CIDR could not be provisioned."
    )
    assert the_cidr(local, second)["State"] == "provisioned"
    assert [a["ResourceId"] for a in allocations_of(local, parent)] == [second]


def test_a_top_level_provision_fails_on_demand_too(ec2, world):
    pool_id = world.pool()
    world.sim.faults.update({"fail_next_provisions": 1})

    ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")

    assert the_cidr(ec2, pool_id)["State"] == "failed-provision"
    ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")  # the block is free
    states = [c["State"] for c in ec2.get_ipam_pool_cidrs(IpamPoolId=pool_id)["IpamPoolCidrs"]]
    assert states == ["failed-provision", "provisioned"]


def test_a_replayed_client_token_takes_no_second_failure(ec2, world, parent):
    child = world.pool(SourceIpamPoolId=parent)
    world.sim.faults.update({"fail_next_provisions": 2})

    first = ec2.provision_ipam_pool_cidr(IpamPoolId=child, NetmaskLength=24, ClientToken="t1")
    replay = ec2.provision_ipam_pool_cidr(IpamPoolId=child, NetmaskLength=24, ClientToken="t1")

    assert replay["IpamPoolCidr"]["IpamPoolCidrId"] == first["IpamPoolCidr"]["IpamPoolCidrId"]
    assert world.sim.faults.fail_next_provisions == 1


def test_refused_and_rule_failed_provisions_take_no_failure(ec2, world, parent):
    child = world.pool(SourceIpamPoolId=parent)
    ec2.provision_ipam_pool_cidr(IpamPoolId=child, NetmaskLength=16)  # all the source has
    world.sim.faults.update({"fail_next_provisions": 1})

    with pytest.raises(ClientError):
        ec2.provision_ipam_pool_cidr(IpamPoolId=child, Cidr="192.168.0.0/24")  # not the source's
    ec2.provision_ipam_pool_cidr(IpamPoolId=child, NetmaskLength=24)  # no room: fails later

    assert world.sim.faults.fail_next_provisions == 1
    states = [c["State"] for c in ec2.get_ipam_pool_cidrs(IpamPoolId=child)["IpamPoolCidrs"]]
    assert states == ["provisioned", "failed-provision"]


# --- lost answers -----------------------------------------------------------------------------


def test_a_lost_answer_is_retried_and_the_pool_made_once(make_client, world, no_backoff):
    ec2 = make_client(config=RETRIES)
    world.sim.faults.update({"lose_next_answers": 1})

    answer = ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4")

    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    assert pool_count(world.sim) == 1
    (pool,) = ec2.describe_ipam_pools()["IpamPools"]
    assert pool["IpamPoolId"] == answer["IpamPool"]["IpamPoolId"]
    assert world.sim.calls["CreateIpamPool"] == 2
    assert world.sim.faults.lose_next_answers == 0


LOST = {"in-process": ReadTimeoutError, "http": ConnectionClosedError}


def test_without_retries_the_client_sees_the_answer_lost_yet_the_pool_exists(ec2, transport, world):
    world.sim.faults.update({"lose_next_answers": 1})

    with pytest.raises(LOST[transport]):
        ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4")

    assert pool_count(world.sim) == 1
    (pool,) = ec2.describe_ipam_pools()["IpamPools"]
    assert pool["State"] == "create-complete"


def test_a_lost_provision_answer_is_retried_to_the_same_cidr(make_client, world, no_backoff):
    ec2 = make_client(config=RETRIES)
    pool_id = world.pool()
    world.sim.faults.update({"lose_next_answers": 1})

    answer = ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")

    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    (cidr,) = ec2.get_ipam_pool_cidrs(IpamPoolId=pool_id)["IpamPoolCidrs"]
    assert cidr["IpamPoolCidrId"] == answer["IpamPoolCidr"]["IpamPoolCidrId"]


def test_only_successful_changes_lose_their_answer(ec2, world):
    world.sim.faults.update({"lose_next_answers": 1})

    ec2.describe_ipam_pools()
    ec2.get_ipam_pool_cidrs(IpamPoolId=world.pool())
    with api_error("DryRunOperation", 412):
        ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4", DryRun=True)
    with api_error("InvalidIpamScopeId.NotFound"):
        ec2.create_ipam_pool(IpamScopeId="ipam-scope-00000000000000000", AddressFamily="ipv4")

    assert world.sim.faults.lose_next_answers == 1


@pytest.mark.http
def test_the_server_still_answers_after_a_lost_answer(shared_server, world):
    world.sim.faults.update({"lose_next_answers": 1})
    status, _ = control(shared_server, "/_ipamsim/health")
    assert status == 200  # the control paths never lose an answer

    ec2 = http_client(shared_server.url, config=NO_RETRIES)
    with pytest.raises(ConnectionClosedError):
        ec2.create_ipam_scope(IpamId=world.ipam_id)
    assert ec2.describe_ipam_scopes()["IpamScopes"]
    assert control(shared_server, "/_ipamsim/faults")[1]["lose_next_answers"] == 0


# --- requests per action ----------------------------------------------------------------------


def test_calls_counts_every_request_that_reached_dispatch(local, world, no_backoff):
    world.sim.reset_calls()
    local.describe_ipam_pools()
    local.describe_ipam_pools()
    local.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4")
    with api_error("DryRunOperation", 412):
        local.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4", DryRun=True)
    world.sim.faults.update({"throttle_rate": 1.0})
    with api_error("RequestLimitExceeded", 503):
        local.describe_ipams()
    world.sim.call("DescribeIpams")  # a direct call reaches no dispatch

    assert world.sim.calls == Counter(DescribeIpamPools=2, CreateIpamPool=2, DescribeIpams=1)
    assert world.sim.calls_made() == dict(world.sim.calls)


def test_calls_counts_concurrent_requests(use_sim):
    sim = use_sim()
    clients = [ipamsim.client(sim) for _ in range(4)]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda c: [c.describe_ipams() for _ in range(25)], clients))

    assert sim.calls_made() == {"DescribeIpams": 100}


@pytest.mark.http
def test_calls_over_http(shared_server, world):
    control(shared_server, "/_ipamsim/calls", {})
    ec2 = http_client(shared_server.url, config=NO_RETRIES)
    ec2.describe_ipams()
    ec2.create_ipam_pool(IpamScopeId=world.private_scope, AddressFamily="ipv4")

    assert control(shared_server, "/_ipamsim/calls") == (
        200,
        {"DescribeIpams": 1, "CreateIpamPool": 1},
    )
    assert control(shared_server, "/_ipamsim/calls", {}) == (200, {})
    assert world.sim.calls_made() == {}


@pytest.mark.http
@pytest.mark.parametrize("body", [{"DescribeIpams": 0}, [], "x"])
def test_posting_calls_takes_only_an_empty_object(shared_server, world, body):
    world.sim.calls["DescribeIpams"] = 3

    status, answer = control(shared_server, "/_ipamsim/calls", body)

    assert status == 400
    assert "error" in answer
    assert world.sim.calls_made() == {"DescribeIpams": 3}


# --- the faults' values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"fail_next_provisions": -1},
        {"fail_next_provisions": float("nan")},
        {"fail_next_provisions": 1.5},
        {"fail_next_provisions": 10_001},
        {"fail_next_provisions": True},
        {"fail_next_provisions": "2"},
        {"lose_next_answers": -1},
        {"lose_next_answers": float("nan")},
        {"lose_next_answers": float("inf")},
        {"lose_next_answers": 10_001},
        {"lose_next_answers": None},
        {"provision_fail_message": 5},
        {"provision_fail_message": None},
    ],
)
def test_wrong_apply_faults_are_refused_and_change_nothing(sim, changes):
    with pytest.raises(ValueError, match="must be"):
        sim.faults.update({"latency": 0.25} | changes)

    assert sim.faults.as_dict() == ipamsim.Faults().as_dict()


def test_apply_faults_at_their_limits_are_accepted(sim):
    sim.faults.update(
        {
            "fail_next_provisions": 10_000,
            "lose_next_answers": 10_000.0,
            "provision_fail_message": "",
        }
    )

    assert sim.faults.fail_next_provisions == 10_000
    assert sim.faults.lose_next_answers == 10_000
    assert isinstance(sim.faults.lose_next_answers, int)


@pytest.mark.http
def test_apply_faults_over_http(shared_server, sim):
    status, faults = control(
        shared_server, "/_ipamsim/faults", {"fail_next_provisions": 2, "lose_next_answers": 1}
    )

    assert status == 200
    assert (faults["fail_next_provisions"], faults["lose_next_answers"]) == (2, 1)
    assert faults["provision_fail_message"] == "The CIDR could not be provisioned."
    status, _ = control(shared_server, "/_ipamsim/faults", {"lose_next_answers": -1})
    assert status == 400
    assert sim.faults.lose_next_answers == 1


def test_the_demo_seeds_with_create_and_provision_delays_and_keeps_them():
    """The seed builds its hierarchy at once (a child's CIDR needs its parent's provisioned),
    then the endpoint answers with the delays it was given."""
    simulator = ipamsim.Simulator(ipamsim.Config(create_delay=2.0, provision_delay=3.0))
    assert seed_demo(simulator)
    assert (simulator.config.create_delay, simulator.config.provision_delay) == (2.0, 3.0)
    pools = simulator.call("DescribeIpamPools")["IpamPools"]
    assert len(pools) > 3
