"""States over time, on a clock the tests move: create, provision, deprovision, delete."""

from __future__ import annotations

import pytest

import ipamsim
from tests.integration.ipamsim.support import FakeClock, api_error, cidrs_of, pool_state

DELAY = 2.0
RETENTION = 300.0


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def timed(use_sim, clock):
    """A simulator whose changes take ``DELAY`` seconds, on the fake clock."""
    return use_sim(ipamsim.Config(create_delay=DELAY, deleted_retention=RETENTION), clock=clock)


@pytest.fixture
def scope(timed, clock):
    ipam = timed.call("CreateIpam")["Ipam"]
    clock.advance(DELAY)
    return ipam["PrivateDefaultScopeId"]


def new_pool(ec2, scope, **params):
    answer = ec2.create_ipam_pool(IpamScopeId=scope, AddressFamily="ipv4", **params)
    return answer["IpamPool"]


def test_ipam_and_scopes_become_create_complete(ec2, timed, clock):
    ipam = ec2.create_ipam()["Ipam"]
    assert ipam["State"] == "create-in-progress"

    clock.advance(DELAY - 0.5)
    assert ec2.describe_ipams()["Ipams"][0]["State"] == "create-in-progress"
    clock.advance(0.5)
    assert ec2.describe_ipams()["Ipams"][0]["State"] == "create-complete"
    scopes = ec2.describe_ipam_scopes()["IpamScopes"]
    assert {s["State"] for s in scopes} == {"create-complete"}


def test_a_pool_becomes_create_complete(ec2, scope, clock):
    pool = new_pool(ec2, scope)
    assert pool["State"] == "create-in-progress"

    clock.advance(1)
    assert pool_state(ec2, pool["IpamPoolId"]) == "create-in-progress"
    clock.advance(1)
    assert pool_state(ec2, pool["IpamPoolId"]) == "create-complete"


def test_a_cidr_becomes_provisioned(ec2, scope, clock):
    pool_id = new_pool(ec2, scope)["IpamPoolId"]
    clock.advance(DELAY)

    answer = ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")

    assert answer["IpamPoolCidr"]["State"] == "pending-provision"
    assert cidrs_of(ec2, pool_id) == {"10.0.0.0/16": "pending-provision"}
    clock.advance(DELAY)
    assert cidrs_of(ec2, pool_id) == {"10.0.0.0/16": "provisioned"}


def test_a_cidr_becomes_deprovisioned(ec2, scope, clock):
    pool_id = new_pool(ec2, scope)["IpamPoolId"]
    clock.advance(DELAY)
    ec2.provision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")
    clock.advance(DELAY)

    answer = ec2.deprovision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")

    assert answer["IpamPoolCidr"]["State"] == "pending-deprovision"
    assert cidrs_of(ec2, pool_id) == {"10.0.0.0/16": "pending-deprovision"}
    with api_error("IncorrectState"):
        ec2.deprovision_ipam_pool_cidr(IpamPoolId=pool_id, Cidr="10.0.0.0/16")
    clock.advance(DELAY)
    assert cidrs_of(ec2, pool_id) == {"10.0.0.0/16": "deprovisioned"}


def test_a_deleted_pool_is_listed_for_a_while_then_gone(ec2, scope, clock):
    pool_id = new_pool(ec2, scope)["IpamPoolId"]
    clock.advance(DELAY)

    assert ec2.delete_ipam_pool(IpamPoolId=pool_id)["IpamPool"]["State"] == "delete-in-progress"
    assert pool_state(ec2, pool_id) == "delete-in-progress"
    clock.advance(DELAY)
    assert pool_state(ec2, pool_id) == "delete-complete"
    assert [p["IpamPoolId"] for p in ec2.describe_ipam_pools()["IpamPools"]] == [pool_id]
    clock.advance(RETENTION - 1)
    assert pool_state(ec2, pool_id) == "delete-complete"
    clock.advance(1)
    with api_error("InvalidIpamPoolId.NotFound"):
        ec2.describe_ipam_pools(IpamPoolIds=[pool_id])
    assert ec2.describe_ipam_pools()["IpamPools"] == []


def test_a_pool_deleted_while_being_created_still_shows_delete_complete(ec2, scope, clock):
    pool_id = new_pool(ec2, scope)["IpamPoolId"]

    ec2.delete_ipam_pool(IpamPoolId=pool_id)
    clock.advance(DELAY)

    assert pool_state(ec2, pool_id) == "delete-complete"
    clock.advance(RETENTION)
    with api_error("InvalidIpamPoolId.NotFound"):
        ec2.describe_ipam_pools(IpamPoolIds=[pool_id])


def test_an_ipam_modified_twice_in_one_instant(ec2, timed, clock):
    ipam_id = ec2.create_ipam()["Ipam"]["IpamId"]
    clock.advance(DELAY)

    ec2.modify_ipam(IpamId=ipam_id, Description="one")
    ec2.modify_ipam(IpamId=ipam_id, Description="two")
    clock.advance(DELAY)

    ipam = ec2.describe_ipams(IpamIds=[ipam_id])["Ipams"][0]
    assert (ipam["State"], ipam["Description"]) == ("modify-complete", "two")


def test_a_deleted_ipam_is_gone_after_the_retention(ec2, timed, clock):
    ipam = ec2.create_ipam()["Ipam"]
    clock.advance(DELAY)

    ec2.delete_ipam(IpamId=ipam["IpamId"])
    clock.advance(DELAY)
    assert ec2.describe_ipams()["Ipams"][0]["State"] == "delete-complete"
    clock.advance(RETENTION)
    assert ec2.describe_ipams()["Ipams"] == []
    assert ec2.describe_ipam_scopes()["IpamScopes"] == []


def test_fail_next_creates_ends_in_create_failed(ec2, timed, scope, clock):
    timed.faults.update({"fail_next_creates": 1, "fail_message": "No capacity for pools."})

    failed = new_pool(ec2, scope)
    fine = new_pool(ec2, scope)

    assert failed["State"] == fine["State"] == "create-in-progress"
    clock.advance(DELAY)
    described = ec2.describe_ipam_pools(IpamPoolIds=[failed["IpamPoolId"]])["IpamPools"][0]
    assert described["State"] == "create-failed"
    assert described["StateMessage"] == "No capacity for pools."
    assert pool_state(ec2, fine["IpamPoolId"]) == "create-complete"
    assert timed.faults.fail_next_creates == 0


def test_a_failed_pool_can_be_deleted(ec2, timed, scope, clock):
    timed.faults.update({"fail_next_creates": 1})
    pool_id = new_pool(ec2, scope)["IpamPoolId"]
    clock.advance(DELAY)

    ec2.delete_ipam_pool(IpamPoolId=pool_id)
    clock.advance(DELAY)

    described = ec2.describe_ipam_pools(IpamPoolIds=[pool_id])["IpamPools"][0]
    assert described["State"] == "delete-complete"


def test_deleting_an_ipam_leaves_a_deleted_scope_deleted(ec2, timed, clock):
    ipam_id = ec2.create_ipam()["Ipam"]["IpamId"]
    clock.advance(DELAY)
    scope_id = ec2.create_ipam_scope(IpamId=ipam_id)["IpamScope"]["IpamScopeId"]
    clock.advance(DELAY)
    ec2.delete_ipam_scope(IpamScopeId=scope_id)
    clock.advance(DELAY)

    ec2.delete_ipam(IpamId=ipam_id)

    scope = ec2.describe_ipam_scopes(IpamScopeIds=[scope_id])["IpamScopes"][0]
    assert scope["State"] == "delete-complete"
    clock.advance(RETENTION)
    with api_error("InvalidIpamScopeId.NotFound"):
        ec2.describe_ipam_scopes(IpamScopeIds=[scope_id])
