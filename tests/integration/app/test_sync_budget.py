"""The full sync within AWS's request budget: paced per action, and never failed by a throttle."""

from __future__ import annotations

from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import call_command

from ipamsim.seed import seed_demo
from pools import sync as sync_module
from pools.aws import AwsNotAuthorised, AwsUnavailable
from pools.aws.budget import RequestBudget
from pools.models import IpamPool, IpamPoolAllocation, IpamPoolCidr
from pools.sync import space_workers, sync_all
from tests.integration.app.conftest import aws_pools, build_hierarchy
from tests.integration.app.test_sync import aws_space

pytestmark = pytest.mark.django_db


class RecordingBudget(RequestBudget):
    """The sync's budget on a clock that stands still: records each call's wait, sleeps never."""

    made: list[RecordingBudget] = []

    def __init__(self, rate: float) -> None:
        super().__init__(rate, clock=lambda: 0.0, sleep=lambda seconds: None)
        self.waits: dict[str, list[float]] = defaultdict(list)
        self.throttles: dict[str, int] = defaultdict(int)
        RecordingBudget.made.append(self)

    def acquire(self, action: str) -> float:
        wait = super().acquire(action)
        self.waits[action].append(wait)
        return wait

    def throttled(self, action: str) -> None:
        self.throttles[action] += 1
        super().throttled(action)


@pytest.fixture
def budget(monkeypatch) -> RecordingBudget:
    """The budget the next sync makes (its waits, its throttles)."""
    RecordingBudget.made = []
    monkeypatch.setattr(sync_module, "RequestBudget", RecordingBudget)

    class Last:
        def __getattr__(self, name: str):
            return getattr(RecordingBudget.made[-1], name)

    return Last()  # type: ignore[return-value]


def assert_space_mirrored(sim) -> None:
    cidrs, allocations = aws_space(sim)
    assert set(IpamPoolCidr.objects.values_list("cidr_id", flat=True)) == cidrs
    assert set(IpamPoolAllocation.objects.values_list("allocation_id", flat=True)) == allocations
    assert set(IpamPool.objects.values_list("pool_id", flat=True)) == {
        p["IpamPoolId"] for p in aws_pools(sim)
    }


def test_every_call_takes_a_token_of_its_actions_bucket(sim, settings, sent, budget):
    seed_demo(sim, showcase=False)
    settings.IPAM_SYNC_READ_RATE = 4

    sync_all()

    calls = sent.count("GetIpamPoolCidrs")
    assert calls == len(budget.waits["get_ipam_pool_cidrs"]) == 11
    # four at once (one second's worth), then one every quarter of a second, in order asked
    assert sorted(budget.waits["get_ipam_pool_cidrs"]) == [0] * 4 + [n / 4 for n in range(1, 8)]
    allocations = sorted(budget.waits["get_ipam_pool_allocations"])
    assert len(allocations) == sent.count("GetIpamPoolAllocations")
    assert allocations[:4] == [0] * 4
    assert allocations[4:] == [n / 4 for n in range(1, len(allocations) - 3)]
    assert budget.waits["describe_ipam_pools"] == [0]
    assert_space_mirrored(sim)


def test_a_sync_the_endpoint_throttles_still_imports_every_pools_space(sim, budget, sent):
    seed_demo(sim, showcase=False)
    build_hierarchy(sim, 120)
    sim.faults.update({"throttle_rate": 0.5})  # half the requests: 503 RequestLimitExceeded
    out = StringIO()

    call_command("ipam_sync", stdout=out)

    assert "CIDRs and allocations: 131/131 pools" in out.getvalue()
    assert_space_mirrored(sim)
    assert sent.count("GetIpamPoolCidrs") > 131  # throttled calls were made again
    assert sent.count("GetIpamPoolAllocations") > 11
    assert budget.throttles["get_ipam_pool_cidrs"] > 0
    sim.faults.update({"throttle_rate": 0.0})
    assert not sync_all().changed_anything


def test_a_throttle_without_end_fails_the_sync_after_its_rounds(sim, budget):
    seed_demo(sim, showcase=False)
    sync_all()
    sim.faults.update({"throttle_rate": 1.0})

    with pytest.raises(AwsUnavailable) as caught:
        sync_all()

    assert caught.value.code == "RequestLimitExceeded"
    assert budget.throttles["describe_ipams"] == sync_module.THROTTLED_ROUNDS


def test_a_failed_fetch_stops_the_sync_and_says_why(sim):
    seed_demo(sim, showcase=False)
    sim.faults.update({"deny_actions": {"GetIpamPoolAllocations"}})

    with pytest.raises(AwsNotAuthorised):
        sync_all()

    assert IpamPool.objects.count() == 11  # the pools phase had been written


def test_batches_are_written_as_fetches_come(sim, monkeypatch, sent):
    """The writer saves a batch while the fetch threads go on (no barrier between batches)."""
    build_hierarchy(sim, 60)
    monkeypatch.setattr(sync_module, "SPACE_BATCH", 10)
    monkeypatch.setattr(sync_module, "QUEUE_BATCHES", 1)
    writes: list[int] = []
    save = sync_module.mirror.save_cidrs

    def counted(items, counts=None):
        writes.append(sent.count("GetIpamPoolCidrs"))
        return save(items, counts)

    monkeypatch.setattr(sync_module.mirror, "save_cidrs", counted)

    sync_all()

    assert len(writes) == 6  # 60 pools in batches of 10
    assert writes[0] < 60  # the first batch was written before every pool was fetched
    assert IpamPoolCidr.objects.count() == len(aws_space(sim)[0])


@pytest.mark.parametrize(("rate", "workers"), [(0.5, 2), (5, 2), (20, 8), (25, 10), (1000, 10)])
def test_concurrent_fetches_follow_the_budget(rate, workers):
    assert space_workers(rate) == workers
