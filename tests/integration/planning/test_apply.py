"""Applying a plan against the local endpoint: in order, idempotent, resumable."""

from __future__ import annotations

import pytest

from planning.models import ApplyRun, ApplyStep, Plan
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
