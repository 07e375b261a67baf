"""Drift on plain values: the three-way comparison, missing pools, unmanaged pools and
allocations in planned blocks."""

from __future__ import annotations

from dataclasses import replace

from netaddr import IPNetwork

from awsipam.facts import AllocationFacts, CidrFacts, IpamFacts, PoolFacts, ScopeFacts
from planning.diff import diff
from planning.drift import (
    ADOPT,
    CHANGED,
    IGNORE,
    MISSING,
    REAPPLY,
    RESERVATION,
    UNMANAGED,
    DriftItem,
    drift,
)
from planning.spec import Intent, NodeSpec, PlanSpec
from planning.world import LivePool, World

SCOPE = "ipam-scope-0000000000000000a"
TOP = "ipam-pool-00000000000000001"
APP = "ipam-pool-00000000000000002"
STRAY = "ipam-pool-00000000000000003"


def live(pool_id, name, cidr, *, allocations=(), tags=(), source="", **kwargs) -> LivePool:
    description = kwargs.pop("description", "")
    art = kwargs.pop("allocation_resource_tags", ())
    facts = PoolFacts(
        pool_id=pool_id,
        scope_id=SCOPE,
        scope_type="private",
        address_family="ipv4",
        state=kwargs.pop("state", "create-complete"),
        depth=2 if source else 1,
        source_pool_id=source or None,
        cidrs=tuple(CidrFacts(IPNetwork(c), "provisioned") for c in cidr),
        allocations=tuple(
            AllocationFacts(f"ipam-pool-alloc-{i:033x}", IPNetwork(c), kind, child)
            for i, (c, kind, child) in enumerate(allocations)
        ),
        **kwargs,
    )
    return LivePool(
        facts,
        name=name,
        description=description,
        tags=tuple(sorted({"Name": name, **dict(tags)}.items())),
        allocation_resource_tags=tuple(art),
    )


TOP_NODE = NodeSpec(
    key="top",
    name="top",
    intent=Intent.CIDR,
    cidr=IPNetwork("10.0.0.0/8"),
    description="top level",
    pool_id=TOP,
)
APP_NODE = NodeSpec(
    key="app",
    name="app",
    parent="top",
    intent=Intent.CIDR,
    cidr=IPNetwork("10.0.0.0/16"),
    tags=(("team", "blue"),),
    pool_id=APP,
)
NEW_NODE = NodeSpec(
    key="new", name="new", parent="top", intent=Intent.CIDR, cidr=IPNetwork("10.1.0.0/16")
)


def record(node: NodeSpec, **changes) -> dict:
    values = {
        "name": node.name,
        "cidr": str(node.cidr),
        "description": node.description,
        "min_netmask": node.min_netmask,
        "max_netmask": node.max_netmask,
        "default_netmask": node.default_netmask,
        "tags": dict(node.tags),
        "allocation_resource_tags": dict(node.allocation_resource_tags),
        "pool_id": node.pool_id,
    }
    return values | changes


def pools(top_allocations=(("10.0.0.0/16", "ipam-pool", APP),), **app) -> dict:
    return {
        TOP: live(TOP, "top", ["10.0.0.0/8"], allocations=top_allocations, description="top level"),
        APP: live(
            APP,
            "app",
            app.pop("cidr", ["10.0.0.0/16"]),
            source=TOP,
            tags=app.pop("tags", (("team", "blue"),)),
            **app,
        ),
    }


def found(nodes=(TOP_NODE, APP_NODE), live_pools=None, applied=None) -> list[DriftItem]:
    spec = PlanSpec(name="p", address_family="ipv4", nodes=tuple(nodes), scope_id=SCOPE)
    world = World(
        ipam=IpamFacts("ipam-0000000000000000a", "us-east-1", ("us-east-1",)),
        scope=ScopeFacts(SCOPE, "private", "ipam-0000000000000000a"),
        pools=pools() if live_pools is None else live_pools,
    )
    if applied is None:
        applied = {n.key: record(n) for n in nodes if n.bound}
    return drift(spec, world, diff(spec, world, []), applied)


def keys(items) -> set[str]:
    return {i.key for i in items}


def test_aws_as_applied_is_no_drift():
    assert found() == []


def test_a_plan_with_no_bound_node_has_no_drift():
    assert found(nodes=[replace(TOP_NODE, pool_id="")], live_pools={}) == []


def test_a_description_changed_in_aws_shows_three_values():
    (item,) = found(live_pools=pools(description="by hand"))
    assert (item.kind, item.node, item.field) == (CHANGED, "app", "description")
    assert (item.plan, item.applied, item.aws) == ("—", "—", "by hand")
    assert item.key == "changed|app|description"
    assert item.actions == (ADOPT, REAPPLY, IGNORE)


def test_an_edit_not_applied_is_not_drift():
    edited = replace(APP_NODE, description="new words")
    applied = {"top": record(TOP_NODE), "app": record(APP_NODE)}
    assert found(nodes=[TOP_NODE, edited], applied=applied) == []


def test_aws_already_as_the_plan_says_is_not_drift():
    edited = replace(APP_NODE, description="by hand")
    applied = {"top": record(TOP_NODE), "app": record(APP_NODE)}
    assert found([TOP_NODE, edited], pools(description="by hand"), applied) == []


def test_rules_and_allocation_tags():
    items = found(
        live_pools=pools(
            min_netmask=20,
            max_netmask=28,
            default_netmask=24,
            allocation_resource_tags=(("env", "x"),),
        )
    )
    assert keys(items) == {
        "changed|app|min_netmask",
        "changed|app|max_netmask",
        "changed|app|default_netmask",
        "changed|app|allocation_resource_tags",
    }
    low = next(i for i in items if i.field == "min_netmask")
    assert (low.plan, low.applied, low.aws) == ("/0", "/0", "/20")


def test_tags_leave_aws_and_app_tags_out():
    ours = (("team", "blue"), ("aws:cloudformation:stack", "s"), ("ipamui:plan", "3"))
    assert found(live_pools=pools(tags=ours)) == []
    (item,) = found(live_pools=pools(tags=(("team", "red"),)))
    assert (item.field, item.applied, item.aws) == ("tags", "team=blue", "team=red")


def test_a_name_changed_in_aws():
    live_pools = pools()
    live_pools[APP] = replace(live_pools[APP], name="renamed")
    (item,) = found(live_pools=live_pools)
    assert (item.field, item.aws) == ("name", "renamed")


def test_cidrs_missing_or_extra():
    (extra,) = found(live_pools=pools(cidr=["10.0.0.0/16", "10.5.0.0/16"]))
    assert (extra.field, extra.aws) == ("cidr", "10.0.0.0/16, 10.5.0.0/16")
    (gone,) = found(live_pools=pools(cidr=[]))
    assert (gone.field, gone.applied, gone.aws) == ("cidr", "10.0.0.0/16", "—")


def test_adopted_cidrs_are_no_longer_drift():
    applied = {
        "top": record(TOP_NODE),
        "app": record(APP_NODE, cidrs=["10.0.0.0/16", "10.5.0.0/16"]),
    }
    assert found(live_pools=pools(cidr=["10.0.0.0/16", "10.5.0.0/16"]), applied=applied) == []


def test_a_pool_gone_or_failed_is_missing():
    live_pools = pools()
    del live_pools[APP]
    (item,) = found(live_pools=live_pools)
    assert (item.kind, item.key, item.aws) == (MISSING, "missing|app", "not in AWS")
    assert REAPPLY not in item.actions
    (failed,) = [i for i in found(live_pools=pools(state="create-failed")) if i.kind == MISSING]
    assert failed.aws == "create-failed"


def test_a_bound_node_never_applied_has_no_changed_items():
    assert found(live_pools=pools(description="x"), applied={}) == []


def test_an_unmanaged_pool_in_a_bound_pool():
    allocations = (("10.0.0.0/16", "ipam-pool", APP), ("10.9.0.0/16", "ipam-pool", STRAY))
    (item,) = found(live_pools=pools(top_allocations=allocations))
    assert (item.kind, item.node, item.pool_id) == (UNMANAGED, "top", STRAY)
    assert item.key == f"unmanaged|{STRAY}"
    assert "10.9.0.0/16" in item.aws


def test_an_allocation_in_a_planned_block():
    allocations = (("10.0.0.0/16", "ipam-pool", APP), ("10.1.2.0/24", "custom", ""))
    items = found(
        nodes=[TOP_NODE, APP_NODE, NEW_NODE], live_pools=pools(top_allocations=allocations)
    )
    (item,) = items
    assert (item.kind, item.node, item.field, item.aws) == (
        RESERVATION,
        "new",
        "cidr",
        "10.1.2.0/24",
    )
    assert item.plan == "10.1.0.0/16"
    assert item.actions == (IGNORE,)


def test_a_pool_in_a_planned_block_is_both_unmanaged_and_in_it():
    allocations = (("10.0.0.0/16", "ipam-pool", APP), ("10.1.0.0/20", "ipam-pool", STRAY))
    items = found(
        nodes=[TOP_NODE, APP_NODE, NEW_NODE], live_pools=pools(top_allocations=allocations)
    )
    assert {i.kind for i in items} == {UNMANAGED, RESERVATION}


def test_keys_are_stable_and_items_round_trip():
    first = found(live_pools=pools(description="x"))
    again = found(live_pools=pools(description="x"))
    assert first == again
    assert DriftItem.from_dict(first[0].as_dict() | {"ignored": True}) == first[0]
