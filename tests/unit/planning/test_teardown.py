"""The reverse of a plan, on plain values: children first, releases and deprovisions before
deletes, what each call waits for, Cascade, and the nodes AWS would refuse to take away."""

from __future__ import annotations

from netaddr import IPNetwork

from awsipam.facts import AllocationFacts, CidrFacts, IpamFacts, PoolFacts, ScopeFacts
from planning.diff import BLOCKED, UNCHANGED
from planning.spec import NodeSpec, PlanSpec
from planning.teardown import DELETE, reverse
from planning.world import LivePool, World

SCOPE = "ipam-scope-0000000000000000a"
TOP = "ipam-pool-00000000000000001"  # 10.0.0.0/8, holds MID
MID = "ipam-pool-00000000000000002"  # 10.0.0.0/16, holds LEAF
LEAF = "ipam-pool-00000000000000003"  # 10.0.0.0/24, holds a custom allocation
STRAY = "ipam-pool-00000000000000009"
CUSTOM_ID = "ipam-pool-alloc-" + "c" * 33


def alloc(n: int, cidr: str, kind: str = "ipam-pool", resource: str = "") -> AllocationFacts:
    return AllocationFacts(f"ipam-pool-alloc-{n:033x}", IPNetwork(cidr), kind, resource)


def pool(pool_id: str, cidrs: tuple[str, ...], allocations=(), **kwargs) -> LivePool:
    values = {"scope_type": "private", "depth": 1, **kwargs}
    return LivePool(
        PoolFacts(
            pool_id=pool_id,
            scope_id=SCOPE,
            address_family="ipv4",
            state="create-complete",
            cidrs=tuple(CidrFacts(IPNetwork(c), "provisioned") for c in cidrs),
            allocations=tuple(allocations),
            **values,
        )
    )


def pools(**extra) -> dict[str, LivePool]:
    custom = AllocationFacts(CUSTOM_ID, IPNetwork("10.0.0.0/28"), "custom")
    found = {
        TOP: pool(TOP, ("10.0.0.0/8",), [alloc(1, "10.0.0.0/16", resource=MID)]),
        MID: pool(MID, ("10.0.0.0/16",), [alloc(2, "10.0.0.0/24", resource=LEAF)], depth=2),
        LEAF: pool(LEAF, ("10.0.0.0/24",), [custom], depth=3),
    }
    found.update(extra)
    return found


def spec(*, unbound: bool = False) -> PlanSpec:
    nodes = [
        NodeSpec("top", "top", cidr=IPNetwork("10.0.0.0/8"), pool_id=TOP),
        NodeSpec("mid", "mid", "top", cidr=IPNetwork("10.0.0.0/16"), pool_id=MID),
        NodeSpec("leaf", "leaf", "mid", cidr=IPNetwork("10.0.0.0/24"), pool_id=LEAF),
    ]
    if unbound:
        nodes.append(NodeSpec("new", "new", "mid", cidr=IPNetwork("10.0.1.0/24")))
    return PlanSpec("plan", "ipv4", tuple(nodes), space=(IPNetwork("10.0.0.0/8"),), scope_id=SCOPE)


def world(found: dict[str, LivePool] | None = None, scope_type: str = "private") -> World:
    return World(
        ipam=IpamFacts("ipam-00000000000000001", "us-east-1", ("us-east-1",)),
        scope=ScopeFacts(SCOPE, scope_type, ("us-east-1",)),
        pools=pools() if found is None else found,
        top_level=((TOP, IPNetwork("10.0.0.0/8")),),
    )


def ids(result) -> list[str]:
    return [s.id for s in result.steps]


def waits(result, step_id: str) -> list[str]:
    return [w.step for w in next(s for s in result.steps if s.id == step_id).waits_for]


def test_children_first_releases_then_deprovisions_then_deletes():
    result = reverse(spec(), world())
    assert ids(result) == [
        "leaf/release-1",
        "leaf/deprovision-1",
        "leaf/delete",
        "mid/deprovision-1",
        "mid/delete",
        "top/deprovision-1",
        "top/delete",
    ]
    assert [n.kind for n in result.nodes] == [DELETE, DELETE, DELETE]
    assert result.counts == {DELETE: 3, UNCHANGED: 0, BLOCKED: 0}
    assert result.applicable


def test_each_call_waits_for_what_AWS_needs_done_first():
    result = reverse(spec(), world())
    assert waits(result, "leaf/release-1") == []
    assert waits(result, "leaf/deprovision-1") == ["leaf/release-1"]
    assert waits(result, "leaf/delete") == ["leaf/deprovision-1"]
    assert waits(result, "mid/deprovision-1") == ["leaf/delete"]
    assert waits(result, "top/deprovision-1") == ["mid/delete"]
    states = {s.id: [w.state for w in s.waits_for] for s in result.steps}
    assert states["mid/deprovision-1"] == ["delete-complete"]
    assert states["mid/delete"] == ["deprovisioned"]
    assert states["leaf/deprovision-1"] == [""]


def test_the_calls_carry_boto3_parameters_and_settle_states():
    steps = {s.id: s for s in reverse(spec(), world()).steps}
    release = steps["leaf/release-1"]
    assert release.action == "ReleaseIpamPoolAllocation"
    assert release.params == {
        "IpamPoolId": LEAF,
        "IpamPoolAllocationId": CUSTOM_ID,
        "Cidr": "10.0.0.0/28",
    }
    assert release.settles == ""
    assert steps["leaf/deprovision-1"].params == {"IpamPoolId": LEAF, "Cidr": "10.0.0.0/24"}
    assert steps["leaf/deprovision-1"].settles == "deprovisioned"
    assert steps["top/delete"].params == {"IpamPoolId": TOP}
    assert steps["top/delete"].settles == "delete-complete"


def test_every_cidr_is_deprovisioned_and_the_delete_waits_for_each():
    found = pools()
    found[MID] = pool(
        MID,
        ("10.0.0.0/16", "10.1.0.0/16"),
        [alloc(2, "10.0.0.0/24", resource=LEAF)],
        depth=2,
    )
    result = reverse(spec(), world(found))
    assert waits(result, "mid/delete") == ["mid/deprovision-1", "mid/deprovision-2"]
    assert waits(result, "mid/deprovision-2") == ["leaf/delete"]


def test_unbound_nodes_and_pools_gone_from_AWS_have_nothing_to_take_away():
    found = pools()
    del found[LEAF]
    found[MID] = pool(MID, ("10.0.0.0/16",), depth=2)
    result = reverse(spec(unbound=True), world(found))
    assert result.node("new").kind == UNCHANGED
    assert result.node("leaf").kind == UNCHANGED
    assert not [s for s in result.steps if s.node in ("new", "leaf")]
    assert waits(result, "mid/deprovision-1") == []


def test_a_pool_without_cidrs_is_deleted_after_its_children():
    found = pools()
    found[MID] = pool(MID, (), depth=2)
    result = reverse(spec(), world(found))
    assert waits(result, "mid/delete") == ["leaf/delete"]


def test_cascade_deletes_only_the_top_most_bound_pool():
    result = reverse(spec(), world(), cascade=True)
    assert [(s.id, s.params) for s in result.steps] == [
        ("top/delete", {"IpamPoolId": TOP, "Cascade": True})
    ]
    assert [n.kind for n in result.nodes] == [DELETE, DELETE, DELETE]


def test_cascade_below_an_unbound_node_starts_at_each_bound_subtree():
    nodes = (
        NodeSpec("root", "root", cidr=IPNetwork("10.0.0.0/8")),
        NodeSpec("a", "a", "root", cidr=IPNetwork("10.0.0.0/16"), pool_id=MID),
        NodeSpec("b", "b", "a", cidr=IPNetwork("10.0.0.0/24"), pool_id=LEAF),
    )
    result = reverse(spec().with_nodes(nodes), world(), cascade=True)
    assert ids(result) == ["a/delete"]
    assert result.node("root").kind == UNCHANGED


def test_allocations_the_plan_did_not_make_block_the_node_and_its_ancestors():
    vpc = alloc(7, "10.0.0.128/28", "vpc", "vpc-0123456789abcdef0")
    found = pools()
    found[LEAF] = pool(LEAF, ("10.0.0.0/24",), [vpc], depth=3)
    result = reverse(spec(), world(found))
    leaf = result.node("leaf")
    assert leaf.kind == BLOCKED
    assert [r.code for r in leaf.reasons] == ["allocations_outside_plan"]
    assert "vpc-0123456789abcdef0" in leaf.reasons[0].message
    assert [r.code for r in result.node("mid").reasons] == ["child_blocked"]
    assert result.node("mid").reasons[0].node == "leaf"
    assert result.node("top").kind == BLOCKED
    assert result.steps == ()
    assert not result.applicable


def test_a_child_pool_the_plan_does_not_know_blocks_its_parent():
    found = pools()
    found[MID] = pool(
        MID,
        ("10.0.0.0/16",),
        [alloc(2, "10.0.0.0/24", resource=LEAF), alloc(3, "10.0.9.0/24", resource=STRAY)],
        depth=2,
    )
    result = reverse(spec(), world(found))
    assert result.node("leaf").kind == DELETE
    assert result.node("mid").kind == BLOCKED
    assert STRAY in result.node("mid").reasons[0].message
    assert [o.pool_id for o in result.outside] == [STRAY]
    assert ids(result) == ["leaf/release-1", "leaf/deprovision-1", "leaf/delete"]


def test_cascade_takes_allocations_the_plan_did_not_make():
    vpc = alloc(7, "10.0.0.128/28", "vpc", "vpc-0123456789abcdef0")
    found = pools()
    found[LEAF] = pool(LEAF, ("10.0.0.0/24",), [vpc], depth=3)
    result = reverse(spec(), world(found), cascade=True)
    assert ids(result) == ["top/delete"]
    assert result.counts[BLOCKED] == 0


def test_cascade_on_a_public_scope_pool_is_blocked_with_everything_below():
    found = {key: pool(p.pool_id, (), scope_type="public") for key, p in pools().items()}
    result = reverse(spec(), world(found, "public"), cascade=True)
    assert [r.code for r in result.node("top").reasons] == ["cascade_not_allowed"]
    assert [r.code for r in result.node("mid").reasons] == ["cascade_blocked"]
    assert result.node("leaf").reasons[0].node == "top"
    assert result.steps == ()


def test_without_cascade_a_public_scope_pool_is_taken_away_step_by_step():
    found = {
        key: pool(p.pool_id, tuple(str(c.cidr) for c in p.facts.cidrs), scope_type="public")
        for key, p in pools().items()
    }
    result = reverse(spec(), world(found, "public"))
    assert result.counts[DELETE] == 3


def test_reverse_is_pure_and_repeatable():
    first, second = reverse(spec(), world()), reverse(spec(), world())
    assert first == second
    assert first.as_dict()["steps"][0]["id"] == "leaf/release-1"
