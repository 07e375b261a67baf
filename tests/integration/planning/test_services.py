"""The planner's services: every change packs, judges what it touched and keeps the ledger."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from netaddr import IPNetwork

from planning import checks, selectors, services
from planning.findings import Finding
from planning.models import Plan, PlanNode
from planning.spec import Intent, Need
from pools.models import IpamPool, Reservation

from .conftest import node


def cidrs(plan: Plan) -> dict[str, str]:
    return {
        k: str(c) if c else ""
        for k, c in PlanNode.objects.filter(plan=plan).values_list("key", "cidr")
    }


def findings(plan: Plan) -> set[tuple[str | None, str]]:
    plan.refresh_from_db()
    return {(f["node"], f["code"]) for f in plan.findings}


def full_findings(plan: Plan) -> set[tuple[str | None, str]]:
    plan = Plan.objects.select_related("ipam", "scope", "parent_pool").get(pk=plan.pk)
    spec = selectors.plan_spec(plan)
    world = selectors.world(plan, spec)
    packing = services.pack(spec, world)
    return {(f.node, f.code) for f in checks.validate(spec, world) + packing.findings}


@pytest.fixture
def regions(make_plan) -> Plan:
    return make_plan(
        nodes=[
            node("top", prefix_length=13),
            node("east", parent="top", prefix_length=16, locale="us-east-1"),
            node("west", parent="top", prefix_length=16, locale="us-west-2"),
        ]
    )


def test_adding_resizing_and_deleting_nodes_moves_no_other_node(regions):
    first = cidrs(regions)
    services.node_add(regions, node("central", parent="top", prefix_length=16, locale="eu-west-1"))
    services.node_update(regions, "east", prefix_length=15)  # west is in the way
    assert cidrs(regions)["east"] == first["east"]
    assert ("east", "renumbering_needed") in findings(regions)
    services.node_delete(regions, "west")  # now it grows in place
    after = cidrs(regions)
    assert after["top"] == first["top"]
    assert IPNetwork(first["east"]) in IPNetwork(after["east"])
    assert ("east", "renumbering_needed") not in findings(regions)


def test_a_repack_of_a_subtree_is_the_only_way_cidrs_move(regions):
    services.node_add(regions, node("vpc-b", parent="east", prefix_length=20))
    services.node_add(regions, node("vpc-a", parent="east", prefix_length=24))
    before = cidrs(regions)
    services.node_delete(regions, "vpc-b")
    assert cidrs(regions)["vpc-a"] == before["vpc-a"]
    services.plan_repack(regions, under="east")
    assert cidrs(regions)["vpc-a"] == "172.16.0.0/24"
    assert cidrs(regions)["east"] == before["east"]


def test_moving_a_node_keeps_its_cidr_if_it_fits_else_its_subtree_moves_together(regions):
    services.node_add(regions, node("vpc", parent="east", prefix_length=20))
    services.node_add(regions, node("sub", parent="vpc", prefix_length=24))
    services.node_move(regions, "sub", "east")  # fits in east: stays
    assert cidrs(regions)["sub"] == "172.16.0.0/24"
    services.node_move(regions, "sub", "vpc")
    services.node_move(regions, "vpc", "west")  # does not fit in west: placed anew with sub
    moved = cidrs(regions)
    assert IPNetwork(moved["vpc"]) in IPNetwork(moved["west"])
    assert IPNetwork(moved["sub"]) in IPNetwork(moved["vpc"])
    assert IPNetwork(moved["sub"]).first - IPNetwork(moved["vpc"]).first == 0


def test_a_node_cannot_move_under_its_own_descendant(regions):
    with pytest.raises(services.PlanError) as refused:
        services.node_move(regions, "top", "east")
    assert refused.value.code == "move_into_itself"


def test_two_plans_never_claim_the_same_block(make_plan):
    first = make_plan("first", nodes=[node("a", prefix_length=16)])
    second = make_plan("second", nodes=[node("b", prefix_length=16)])
    assert cidrs(first)["a"] != cidrs(second)["b"]
    held = set(Reservation.objects.values_list("plan_id", "cidr"))
    assert {
        (first.pk, IPNetwork(cidrs(first)["a"])),
        (second.pk, IPNetwork(cidrs(second)["b"])),
    } == held
    # Pinning the second plan's node onto the first's block is an error.
    services.node_update(second, "b", intent=Intent.CIDR, cidr=IPNetwork(cidrs(first)["a"]))
    assert ("b", "node_overlaps_plan") in findings(second)
    services.plan_delete(first)
    assert not Reservation.objects.filter(plan_id=first.pk).exists()


def test_an_archived_plan_gives_its_blocks_back(make_plan):
    plan = make_plan(nodes=[node("a", prefix_length=16)])
    assert Reservation.objects.filter(plan_id=plan.pk).exists()
    services.plan_update(plan, status=Plan.Status.ARCHIVED)
    assert not Reservation.objects.filter(plan_id=plan.pk).exists()
    services.plan_update(plan, status=Plan.Status.DRAFT)
    assert Reservation.objects.filter(plan_id=plan.pk).exists()


def test_an_external_reservation_is_placed_around(make_plan, private_scope):
    Reservation.objects.create(
        ipam=private_scope.ipam,
        address_family="ipv4",
        cidr=IPNetwork("172.16.0.0/16"),
        kind=Reservation.Kind.EXTERNAL,
        name="datacenter",
    )
    plan = make_plan(nodes=[node("a", prefix_length=16)])
    assert cidrs(plan)["a"] == "172.17.0.0/16"
    assert findings(plan) == set()


def test_a_plan_under_a_live_pool_packs_in_its_free_space(make_plan, private_scope):
    regional = IpamPool.objects.get(name="us-east-1")
    plan = make_plan(space="", parent_pool=regional, nodes=[node("vpcs", prefix_length=16)])
    placed = IPNetwork(cidrs(plan)["vpcs"])
    live = [a.cidr for a in regional.allocations.all()]
    assert placed in regional.cidrs.get().cidr
    assert not any(placed.first <= a.last and a.first <= placed.last for a in live)
    assert findings(plan) == set()


def test_need_intents_are_sized(make_plan):
    plan = make_plan(
        nodes=[node("vpcs", intent=Intent.NEED, need=Need(count=8, length=20, growth=25))]
    )
    assert IPNetwork(cidrs(plan)["vpcs"]).prefixlen == 16


EDITS = st.lists(
    st.tuples(
        st.sampled_from(["add", "resize", "pin", "delete", "move", "locale", "rename"]),
        st.integers(0, 50),
        st.integers(12, 26),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=15, deadline=None)
@given(edits=EDITS)
def test_property_incremental_findings_equal_a_full_validation(regions, edits):
    """Whatever the edits, the findings kept by judging only what each touched are those a
    judging of the whole plan gives."""
    for counter, (op, pick, length) in enumerate(edits):
        keys = sorted(PlanNode.objects.filter(plan=regions).values_list("key", flat=True))
        if not keys:
            break
        key = keys[pick % len(keys)]
        try:
            if op == "add":
                services.node_add(regions, node(f"n{counter}", parent=key, prefix_length=length))
            elif op == "resize":
                services.node_update(regions, key, prefix_length=length)
            elif op == "pin":
                services.node_update(
                    regions, key, intent=Intent.CIDR, cidr=IPNetwork(f"172.16.0.0/{length}")
                )
            elif op == "delete" and len(keys) > 1:
                services.node_delete(regions, key)
            elif op == "move":
                services.node_move(regions, key, keys[(pick + 1) % len(keys)])
            elif op == "locale":
                services.node_update(
                    regions, key, locale=["us-east-1", "us-west-2", None][pick % 3]
                )
            elif op == "rename":
                services.node_update(regions, key, name=["same", "other"][pick % 2])
        except services.PlanError:
            pass
    assert findings(regions) == full_findings(regions)


def test_finding_round_trips_through_json():
    f = Finding("n", "node_no_room", "m", "fix", "error", "cidr")
    assert Finding.from_dict(f.as_dict()) == f
