"""The demo data: a believable hierarchy, created once."""

from __future__ import annotations

import ipamsim
from ipamsim.seed import seed_demo


def test_seed_demo_builds_a_hierarchy(local, sim):
    assert seed_demo(sim) is True

    pools = local.describe_ipam_pools()["IpamPools"]
    by_id = {p["IpamPoolId"]: p for p in pools}
    assert {p["PoolDepth"] for p in pools} == {1, 2, 3}
    failed = [p for p in pools if p["State"] == "create-failed"]
    assert len(failed) == 1  # a pool AWS could not create, with its reason
    assert failed[0]["StateMessage"]
    pools = [p for p in pools if p not in failed]
    assert {p["State"] for p in pools} == {"create-complete"}
    assert {p["Locale"] for p in pools if p["PoolDepth"] > 1} == {
        "us-east-1",
        "us-west-2",
        "eu-west-1",
    }
    for pool in pools:
        if "SourceIpamPoolId" in pool:
            source = by_id[pool["SourceIpamPoolId"]]
            assert pool["PoolDepth"] == source["PoolDepth"] + 1
            assert pool["Locale"] == source["Locale"] or source["Locale"] == "None"
    families = {p["AddressFamily"] for p in pools}
    assert families == {"ipv4", "ipv6"}
    assert {p["PoolDepth"] for p in pools if p["AddressFamily"] == "ipv6"} == {1, 2}
    assert any(p["AllocationResourceTags"] for p in pools)


def test_seed_demo_address_space_is_consistent(local, sim):
    seed_demo(sim)
    pools = local.describe_ipam_pools()["IpamPools"]

    custom, deprovisioned = 0, 0
    for pool in pools:
        cidrs = local.get_ipam_pool_cidrs(IpamPoolId=pool["IpamPoolId"])["IpamPoolCidrs"]
        if pool["State"] == "create-failed":
            assert not cidrs
            continue
        assert cidrs, pool["IpamPoolId"]
        deprovisioned += sum(1 for c in cidrs if c["State"] == "deprovisioned")
        assert {c["State"] for c in cidrs} - {"deprovisioned"} == {"provisioned"}
        allocations = local.get_ipam_pool_allocations(IpamPoolId=pool["IpamPoolId"])[
            "IpamPoolAllocations"
        ]
        children = [p for p in pools if p.get("SourceIpamPoolId") == pool["IpamPoolId"]]
        held = {a["ResourceId"] for a in allocations if a["ResourceType"] == "ipam-pool"}
        assert held == {c["IpamPoolId"] for c in children}
        custom += sum(1 for a in allocations if a["ResourceType"] == "custom")
    assert custom > 0
    assert deprovisioned == 1


def test_seed_demo_is_idempotent(local, sim):
    seed_demo(sim)
    before = local.describe_ipam_pools()["IpamPools"]

    assert seed_demo(sim) is False

    assert local.describe_ipam_pools()["IpamPools"] == before
    assert len(local.describe_ipams()["Ipams"]) == 1


def test_seed_demo_keeps_the_create_delay(use_sim):
    sim = use_sim(ipamsim.Config(create_delay=7))

    seed_demo(sim)

    assert sim.config.create_delay == 7
