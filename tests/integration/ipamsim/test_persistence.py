"""State in SQLite survives a restart: objects, idempotency tokens, scheduled changes."""

from __future__ import annotations

import ipamsim
from tests.integration.ipamsim.conftest import endpoint_config
from tests.integration.ipamsim.support import FakeClock, allocations_of, api_error, cidrs_of


def test_state_survives_a_restart(local, use_sim, tmp_path):
    path = str(tmp_path / "s.sqlite3")
    first = use_sim(state_path=path)
    ipam = local.create_ipam(Description="kept")["Ipam"]
    pool = local.create_ipam_pool(
        IpamScopeId=ipam["PrivateDefaultScopeId"],
        AddressFamily="ipv4",
        Locale="us-east-1",
        ClientToken="pool-token",
    )["IpamPool"]
    local.provision_ipam_pool_cidr(IpamPoolId=pool["IpamPoolId"], Cidr="10.0.0.0/16")
    allocation = local.allocate_ipam_pool_cidr(IpamPoolId=pool["IpamPoolId"], NetmaskLength=24)
    before = local.describe_ipam_pools()["IpamPools"]
    first.store.close()

    use_sim(state_path=path)

    assert local.describe_ipams()["Ipams"][0]["Description"] == "kept"
    assert local.describe_ipam_pools()["IpamPools"] == before
    assert cidrs_of(local, pool["IpamPoolId"]) == {"10.0.0.0/16": "provisioned"}
    assert allocations_of(local, pool["IpamPoolId"]) == [allocation["IpamPoolAllocation"]]
    again = local.create_ipam_pool(
        IpamScopeId=ipam["PrivateDefaultScopeId"],
        AddressFamily="ipv4",
        Locale="us-east-1",
        ClientToken="pool-token",
    )["IpamPool"]
    assert again["IpamPoolId"] == pool["IpamPoolId"]
    assert len(local.describe_ipam_pools()["IpamPools"]) == 1
    follow = local.allocate_ipam_pool_cidr(IpamPoolId=pool["IpamPoolId"], NetmaskLength=24)
    assert follow["IpamPoolAllocation"]["Cidr"] == "10.0.1.0/24"


def test_new_objects_after_a_restart_come_after_the_old_ones(local, use_sim, tmp_path):
    path = str(tmp_path / "s.sqlite3")
    use_sim(state_path=path).call("CreateIpam", Description="old")
    sim = use_sim(state_path=path)

    sim.call("CreateIpam", Description="new")

    assert [i["Description"] for i in local.describe_ipams()["Ipams"]] == ["old", "new"]


def test_scheduled_changes_survive_a_restart(local, use_sim, tmp_path):
    path = str(tmp_path / "s.sqlite3")
    clock = FakeClock()
    config = endpoint_config(create_delay=5, deleted_retention=60)
    first = use_sim(config, clock=clock, state_path=path)
    ipam_id = local.create_ipam()["Ipam"]["IpamId"]
    first.store.close()

    use_sim(config, clock=clock, state_path=path)
    assert local.describe_ipams()["Ipams"][0]["State"] == "create-in-progress"
    clock.advance(5)
    assert local.describe_ipams()["Ipams"][0]["State"] == "create-complete"
    local.delete_ipam(IpamId=ipam_id)
    clock.advance(5)
    restarted = use_sim(config, clock=clock, state_path=path)
    assert local.describe_ipams()["Ipams"][0]["State"] == "delete-complete"
    clock.advance(60)
    assert local.describe_ipams()["Ipams"] == []
    restarted.store.close()
    use_sim(config, clock=clock, state_path=path)
    assert local.describe_ipams()["Ipams"] == []


def test_a_refused_request_leaves_no_trace_on_disk(local, use_sim, tmp_path):
    path = str(tmp_path / "s.sqlite3")
    sim = use_sim(state_path=path)
    scope = sim.call("CreateIpam")["Ipam"]["PrivateDefaultScopeId"]
    with api_error("InvalidParameterValue"):
        local.create_ipam_pool(IpamScopeId=scope, AddressFamily="ipv4", Locale="ap-south-1")
    sim.store.close()

    use_sim(state_path=path)

    assert local.describe_ipam_pools()["IpamPools"] == []


def test_processes_sharing_a_state_file_each_see_what_the_other_wrote(tmp_path):
    """A web server's workers, or ``manage.py ipam_sync`` beside ``runserver``."""
    path = str(tmp_path / "s.sqlite3")
    one = ipamsim.Simulator(endpoint_config(), state_path=path)
    other = ipamsim.Simulator(endpoint_config(), state_path=path)
    try:
        scope = one.call("CreateIpam")["Ipam"]["PrivateDefaultScopeId"]
        pool = other.call(
            "CreateIpamPool", IpamScopeId=scope, AddressFamily="ipv4", Locale="us-east-1"
        )["IpamPool"]["IpamPoolId"]
        one.call("ProvisionIpamPoolCidr", IpamPoolId=pool, Cidr="10.0.0.0/16")
        first = other.call("AllocateIpamPoolCidr", IpamPoolId=pool, NetmaskLength=24)
        second = one.call("AllocateIpamPoolCidr", IpamPoolId=pool, NetmaskLength=24)

        assert first["IpamPoolAllocation"]["Cidr"] == "10.0.0.0/24"
        assert second["IpamPoolAllocation"]["Cidr"] == "10.0.1.0/24"
        for sim in (one, other):
            answer = sim.call("GetIpamPoolAllocations", IpamPoolId=pool)["IpamPoolAllocations"]
            assert len(answer) == 2
        ipams = [i["IpamId"] for i in one.call("DescribeIpams")["Ipams"]]
        other.call("CreateIpam")
        assert len(one.call("DescribeIpams")["Ipams"]) == len(ipams) + 1
    finally:
        one.store.close()
        other.store.close()
