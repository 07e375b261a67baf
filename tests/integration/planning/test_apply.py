"""Applying a plan against the local endpoint: in order, idempotent, resumable."""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qs

import pytest

from planning import engine, runs
from planning.models import ApplyRun, ApplyStep, Plan
from planning.services import PlanError
from pools.aws import reset_clients
from pools.models import IpamPool

from .conftest import node

pytestmark = pytest.mark.django_db


def three_levels(make_plan):
    return make_plan(
        nodes=[
            node("top", "top", prefix_length=16),
            node("eu", "eu", "top", prefix_length=20, locale="us-east-1"),
            node("us", "us", "top", prefix_length=20, locale="us-east-1"),
            node("eu-a", "eu-a", "eu", prefix_length=24),
            node("us-a", "us-a", "us", prefix_length=24),
        ]
    )


def pools_named(sim, name):
    return [
        p
        for p in sim.call("DescribeIpamPools")["IpamPools"]
        if {"Key": "Name", "Value": name} in p.get("Tags", [])
    ]


def test_a_three_level_plan_is_applied_in_order(make_plan, sim, apply):
    plan = three_levels(make_plan)
    run = apply(plan)
    run.refresh_from_db()
    assert run.status == ApplyRun.Status.DONE, list(
        run.steps.values_list("step_id", "status", "error_message")
    )
    for name in ("top", "eu", "us", "eu-a", "us-a"):
        assert len(pools_named(sim, name)) == 1
    plan.refresh_from_db()
    assert plan.status == Plan.Status.APPLIED
    assert all(n.pool_aws_id for n in plan.nodes.all())
    eu = IpamPool.objects.get(pool_id=plan.nodes.get(key="eu").pool_aws_id)
    assert eu.source_pool.pool_id == plan.nodes.get(key="top").pool_aws_id
    assert set(run.steps.values_list("status", flat=True)) == {ApplyStep.Status.DONE}


def owned_pools(sim):
    """The endpoint's pools per plan node (by the node tag the apply writes)."""
    counts: dict[str, int] = {}
    for pool in sim.call("DescribeIpamPools")["IpamPools"]:
        for tag in pool.get("Tags", []):
            if tag["Key"] == "ipamui:node":
                counts[tag["Value"]] = counts.get(tag["Value"], 0) + 1
    return counts


def test_throttling_and_concurrent_mutations_still_complete_without_duplicates(
    make_plan, sim, apply, settings, monkeypatch
):
    """The engine itself backs off (botocore's retries are off here, to show it)."""
    settings.IPAM_APPLY_MAX_TRIES = 60
    settings.IPAM_MAX_ATTEMPTS = 1
    reset_clients()
    monkeypatch.setattr(engine, "BACKOFF_BASE", 0.01)
    monkeypatch.setattr(engine, "BACKOFF_CAP", 0.05)
    plan = three_levels(make_plan)
    sim.faults.update({"throttle_rate": 0.5, "mutation_conflict_rate": 0.5})
    run = apply(plan)
    sim.faults.update({"throttle_rate": 0.0, "mutation_conflict_rate": 0.0})
    assert run.status == ApplyRun.Status.DONE
    assert owned_pools(sim) == dict.fromkeys(["top", "eu", "us", "eu-a", "us-a"], 1)
    retried = run.steps.filter(tries__gt=1)
    assert retried.exists()  # the faults were met, and backed off from


def test_a_create_failed_node_is_reported_and_its_subtree_held(make_plan, sim, apply):
    plan = three_levels(make_plan)
    run = _apply_failing(plan, sim, apply, key="eu", fault="fail_next_creates")
    eu = run.steps.get(step_id="eu/create")
    assert eu.status == ApplyStep.Status.FAILED
    assert eu.error_code == "create-failed"
    assert eu.error_message
    assert run.steps.get(step_id="eu-a/create").status == ApplyStep.Status.HELD
    assert run.steps.get(step_id="us-a/provision").status == ApplyStep.Status.DONE
    assert run.status == ApplyRun.Status.FAILED
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT


def _apply_failing(plan, sim, apply, *, key: str, fault: str):
    """Apply with ``fault`` armed for exactly the call made for node ``key``."""
    action = "CreateIpamPool" if fault == "fail_next_creates" else "ProvisionIpamPoolCidr"
    handle = sim.handle

    def armed(method, query, headers, body):
        text = body.decode() if isinstance(body, bytes) else body
        if f"Action={action}" in text and _is_for(sim, text, key):
            sim.faults.update({fault: 1})
        return handle(method, query, headers, body)

    sim.handle = armed
    try:
        return apply(plan)
    finally:
        sim.handle = handle


def _is_for(sim, body: str, key: str) -> bool:
    """Whether a request is the call for node ``key`` (its tag, or its pool's id)."""
    fields = parse_qs(body)
    if any(v == [key] for k, v in fields.items() if k.endswith("Value")):
        return True
    pool_id = fields.get("IpamPoolId", [""])[0]
    return bool(pool_id) and owned_id(sim, key) == pool_id


def owned_id(sim, key: str) -> str:
    for pool in sim.call("DescribeIpamPools")["IpamPools"]:
        if {"Key": "ipamui:node", "Value": key} in pool.get("Tags", []):
            return pool["IpamPoolId"]
    return ""


def test_a_failed_provision_shows_its_reason_and_holds_the_subtree(make_plan, sim, apply):
    plan = three_levels(make_plan)
    run = _apply_failing(plan, sim, apply, key="us", fault="fail_next_provisions")
    step = run.steps.get(step_id="us/provision")
    assert step.status == ApplyStep.Status.FAILED
    assert step.error_code == "failed-provision"
    assert step.error_message
    assert run.steps.get(step_id="us-a/create").status == ApplyStep.Status.HELD
    assert run.steps.get(step_id="eu-a/provision").status == ApplyStep.Status.DONE


def test_lost_answers_are_recovered_without_duplicates(make_plan, sim, apply, settings):
    plan = three_levels(make_plan)
    sim.faults.update({"lose_next_answers": 4})
    run = apply(plan)
    assert run.status == ApplyRun.Status.DONE
    assert owned_pools(sim) == dict.fromkeys(["top", "eu", "us", "eu-a", "us-a"], 1)


def test_a_lost_answer_past_every_retry_is_found_in_aws_before_sending_again(
    make_plan, sim, apply, settings
):
    """botocore's own retries all lose their answers: the step goes back to pending as maybe
    sent, and the next try finds the pool by its tags instead of creating another."""
    settings.IPAM_MAX_ATTEMPTS = 1
    reset_clients()
    plan = make_plan(nodes=[node("solo", "solo", prefix_length=16, locale="us-east-1")])
    sim.faults.update({"lose_next_answers": 1})
    run = apply(plan)
    assert run.status == ApplyRun.Status.DONE, list(run.steps.values("step_id", "error_code"))
    assert owned_pools(sim) == {"solo": 1}
    create = run.steps.get(step_id="solo/create")
    assert create.tries >= 1
    assert not create.maybe_sent


def test_the_stale_plan_guard_stops_before_the_first_call(make_plan, sim, apply, private_scope):
    """A pool made outside the app in the plan's space after the run's snapshot: the run
    stops before any change is sent, and asks for a re-check."""
    plan = three_levels(make_plan)
    start = runs.start

    def start_then_change(plan, **kwargs):
        run = start(plan, **kwargs)
        sim.call(
            "CreateIpamPool",
            IpamScopeId=private_scope.scope_id,
            AddressFamily="ipv4",
        )
        pool_id = sim.call("DescribeIpamPools")["IpamPools"][-1]["IpamPoolId"]
        sim.call("ProvisionIpamPoolCidr", IpamPoolId=pool_id, Cidr="172.31.0.0/16")
        return run

    runs.start = start_then_change
    try:
        before = sim.calls_made()
        run = apply(plan)
    finally:
        runs.start = start
    assert run.status == ApplyRun.Status.STALE
    assert "172.31.0.0/16" in run.message
    made = Counter(sim.calls_made()) - Counter(before)
    assert not [action for action in made if not action.startswith(("Describe", "Get"))]
    assert owned_pools(sim) == {}
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT


def test_pause_then_resume_reads_aws_first_and_finishes(make_plan, sim, apply, worker):
    plan = three_levels(make_plan)
    with_pause = runs.start(plan)  # queued; the worker has not run it
    runs.pause(with_pause)
    worker()  # the driver sees the pause and stops before its first call
    with_pause.refresh_from_db()
    assert with_pause.status == ApplyRun.Status.PAUSED
    assert owned_pools(sim) == {}
    runs.resume(with_pause)
    with_pause.refresh_from_db()
    assert with_pause.status == ApplyRun.Status.QUEUED


def test_resume_after_a_lost_driver_repeats_nothing(make_plan, sim, apply, worker, settings):
    """A driver that died after sending its calls (its steps left running): resume reads AWS,
    finds the pools, and sends no second CreateIpamPool."""
    plan = three_levels(make_plan)
    run = apply(plan)
    assert run.status == ApplyRun.Status.DONE
    # Make it look as if the driver died mid-way: every step back to running, pools known
    # only to AWS (their tags), the run stalled.
    run.steps.update(status=ApplyStep.Status.RUNNING, pool_aws_id="", owner="dead")
    ApplyRun.objects.filter(pk=run.pk).update(
        status=ApplyRun.Status.RUNNING, heartbeat_at=None, started_at="2000-01-01T00:00:00Z"
    )
    run.refresh_from_db()
    assert runs.is_stalled(run)
    before = sim.calls_made()
    runs.resume(run)
    runs.drive_apply.call(run.pk)
    run.refresh_from_db()
    assert run.status == ApplyRun.Status.DONE
    made = Counter(sim.calls_made()) - Counter(before)
    assert made["CreateIpamPool"] == 0
    assert owned_pools(sim) == dict.fromkeys(["top", "eu", "us", "eu-a", "us-a"], 1)


def test_cancel_stops_for_good_and_a_new_run_asks_afresh(make_plan, sim, apply):
    plan = three_levels(make_plan)
    run = runs.start(plan)
    runs.cancel(run)
    run.refresh_from_db()
    assert run.status == ApplyRun.Status.CANCELLED
    assert set(run.steps.values_list("status", flat=True)) == {ApplyStep.Status.CANCELLED}
    again = apply(plan)
    assert again.attempt == 2
    assert again.status == ApplyRun.Status.DONE
    tokens = set(run.steps.values_list("client_token", flat=True))
    assert tokens.isdisjoint(again.steps.values_list("client_token", flat=True))


def test_a_second_start_is_refused_while_a_run_is_active(make_plan):
    plan = three_levels(make_plan)
    runs.start(plan)
    with pytest.raises(PlanError) as refused:
        runs.start(plan)
    assert refused.value.code == "run_active"


def test_an_applied_plan_has_nothing_left_to_do(make_plan, apply):
    """The tags the apply writes for itself are no difference between plan and AWS."""
    plan = three_levels(make_plan)
    assert apply(plan).status == ApplyRun.Status.DONE
    plan.refresh_from_db()
    with pytest.raises(PlanError) as nothing:
        runs.start(plan)
    assert nothing.value.code == "nothing"


def test_a_pool_of_a_cancelled_run_is_taken_by_the_next_not_made_again(
    make_plan, sim, apply, worker, settings
):
    """The create's answer lost, the run cancelled before it looked in AWS: the next run
    (another attempt, other ClientTokens) finds the pool by its tags instead."""
    settings.IPAM_MAX_ATTEMPTS = 1
    reset_clients()
    plan = make_plan(nodes=[node("solo", "solo", prefix_length=16, locale="us-east-1")])
    sim.faults.update({"lose_next_answers": 1})
    first = runs.start(plan)
    runs.begin(first.pk)
    engine.Steps(engine.random.Random(0)).perform(
        engine.Driver(first.pk)._jobs([first.steps.get(step_id="solo/create").pk])[0], {}
    )
    runs.cancel(first)
    assert owned_pools(sim) == {"solo": 1}
    again = apply(plan)
    assert again.status == ApplyRun.Status.DONE, list(again.steps.values("step_id", "error_code"))
    assert owned_pools(sim) == {"solo": 1}


def test_a_pool_deleted_while_awaited_fails_its_step_instead_of_waiting(
    make_plan, sim, apply, monkeypatch
):
    plan = make_plan(nodes=[node("solo", "solo", prefix_length=16, locale="us-east-1")])
    real = engine.Steps.check_pools

    def deleted_meanwhile(self, jobs):
        for job in jobs:
            sim.call("DeleteIpamPool", IpamPoolId=job.pool_id)
        return real(self, jobs)

    monkeypatch.setattr(engine.Steps, "check_pools", deleted_meanwhile)
    sim.config.create_delay = 5.0
    run = apply(plan)
    step = run.steps.get(step_id="solo/create")
    assert step.status == ApplyStep.Status.FAILED
    assert step.error_code.startswith("delete")
    assert run.steps.get(step_id="solo/provision").status == ApplyStep.Status.HELD


def test_the_parents_allocations_are_read_back_into_the_mirror(make_plan, apply):
    plan = three_levels(make_plan)
    apply(plan)
    top = IpamPool.objects.get(pool_id=plan.nodes.get(key="top").pool_aws_id)
    children = {n.pool_aws_id for n in plan.nodes.filter(key__in=["eu", "us"])}
    assert set(top.allocations.live().values_list("resource_id", flat=True)) == children
