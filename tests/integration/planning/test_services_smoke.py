from __future__ import annotations

from planning import services
from planning.models import PlanNode
from pools.models import Reservation

from .conftest import node


def test_a_plan_is_packed_judged_and_held_in_the_ledger(make_plan, django_assert_max_num_queries):
    plan = make_plan(
        nodes=[
            node("top", prefix_length=13),
            node("east", parent="top", prefix_length=16, locale="us-east-1"),
            node("west", parent="top", prefix_length=16, locale="us-west-2"),
        ]
    )
    cidrs = dict(PlanNode.objects.filter(plan=plan).values_list("key", "cidr"))
    print(cidrs, plan.findings)
    assert str(cidrs["top"]) == "172.16.0.0/13"
    assert Reservation.objects.filter(plan_id=plan.pk).count() == 1
    with django_assert_max_num_queries(20):
        outcome = services.node_add(plan, node("vpc", parent="east", prefix_length=20))
    print(outcome.plan.findings)
    assert str(PlanNode.objects.get(key="vpc").cidr) == "172.16.0.0/20"
