"""The diff of a plan against AWS, on plain values: each kind of node, the steps' order and
what each waits for, references to pools not created yet, and what is left alone."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from netaddr import IPNetwork

from awsipam.facts import AllocationFacts, CidrFacts, IpamFacts, PoolFacts, ScopeFacts
from planning import diff as plan_diff
from planning.diff import BLOCKED, CHANGE, CREATE, UNCHANGED, diff, resolve
from planning.findings import finding
from planning.requests import create_pool_request
from planning.spec import Intent, NodeSpec, PlanSpec, Tree
from planning.world import LivePool, World

SCOPE = "ipam-scope-0000000000000000a"
OTHER_SCOPE = "ipam-scope-0000000000000000b"
TOP = "ipam-pool-00000000000000001"  # 10.0.0.0/8, holds EAST
EAST = "ipam-pool-00000000000000002"  # 10.0.0.0/12, us-east-1, holds PROD and STRAY
PROD = "ipam-pool-00000000000000003"  # 10.0.0.0/16, us-east-1
STRAY = "ipam-pool-00000000000000004"  # 10.1.0.0/16: a child of EAST no plan knows
NEIGHBOUR = "ipam-pool-00000000000000005"  # 192.168.0.0/16, top level


def facts(pool_id: str, cidrs=(), allocations=(), **kwargs) -> PoolFacts:
    values = {
        "scope_id": SCOPE,
        "scope_type": "private",
        "address_family": "ipv4",
        "state": "create-complete",
        "depth": 1,
        "max_netmask": 32,
        **kwargs,
    }
    return PoolFacts(
        pool_id=pool_id,
        cidrs=tuple(CidrFacts(IPNetwork(c), "provisioned") for c in cidrs),
        allocations=tuple(
            AllocationFacts(f"ipam-pool-alloc-{i:033x}", IPNetwork(c), "ipam-pool", child)
            for i, (c, child) in enumerate(allocations)
        ),
        **values,
    )


def live(pool_id: str, name: str, cidrs=(), allocations=(), tags=(), **kwargs) -> LivePool:
    description = kwargs.pop("description", "")
    art = kwargs.pop("allocation_resource_tags", ())
    return LivePool(
        facts(pool_id, cidrs, allocations, **kwargs),
        name=name,
        description=description,
        tags=tuple(sorted({"Name": name, **dict(tags)}.items())),
        allocation_resource_tags=tuple(art),
    )


POOLS = {
    TOP: live(TOP, "top", ["10.0.0.0/8"], [("10.0.0.0/12", EAST)], min_netmask=12, max_netmask=16),
    EAST: live(
        EAST,
        "east",
        ["10.0.0.0/12"],
        [("10.0.0.0/16", PROD), ("10.1.0.0/16", STRAY)],
        depth=2,
        locale="us-east-1",
        source_pool_id=TOP,
        min_netmask=14,
        max_netmask=20,
    ),
    PROD: live(
        PROD,
        "prod",
        ["10.0.0.0/16"],
        depth=3,
        locale="us-east-1",
        source_pool_id=EAST,
        min_netmask=16,
        max_netmask=28,
        default_netmask=24,
        description="production",
        tags=[("team", "netops"), ("aws:cloudformation:stack-name", "base")],
        allocation_resource_tags=[("environment", "prod")],
    ),
}


def world(pools=None, **kwargs) -> World:
    return World(
        ipam=IpamFacts("ipam-0000000000000000a", "us-east-1", ("us-east-1", "us-west-2")),
        scope=ScopeFacts(SCOPE, "private", ("us-east-1", "us-west-2"), is_default=True),
        pools=POOLS if pools is None else pools,
        top_level=((TOP, IPNetwork("10.0.0.0/8")), (NEIGHBOUR, IPNetwork("192.168.0.0/16"))),
        **kwargs,
    )


def node(key: str, parent: str | None = None, **kwargs) -> NodeSpec:
    cidr = kwargs.pop("cidr", None)
    return NodeSpec(
        key=key,
        name=kwargs.pop("name", key),
        parent=parent,
        intent=kwargs.pop("intent", Intent.CIDR if cidr else Intent.LENGTH),
        cidr=IPNetwork(cidr) if cidr else None,
        **kwargs,
    )


def bound_tree(**prod) -> list[NodeSpec]:
    """top > east > prod, bound to their pools, as they are in AWS (``prod``: what differs)."""
    return [
        node("top", cidr="10.0.0.0/8", pool_id=TOP, min_netmask=12, max_netmask=16),
        node(
            "east",
            "top",
            cidr="10.0.0.0/12",
            pool_id=EAST,
            locale="us-east-1",
            min_netmask=14,
            max_netmask=20,
        ),
        node(
            "prod",
            "east",
            **{
                "cidr": "10.0.0.0/16",
                "pool_id": PROD,
                "min_netmask": 16,
                "max_netmask": 28,
                "default_netmask": 24,
                "description": "production",
                "tags": (("team", "netops"),),
                "allocation_resource_tags": (("environment", "prod"),),
                **prod,
            },
        ),
    ]


def plan(nodes, **kwargs) -> PlanSpec:
    return PlanSpec(
        name="p",
        address_family="ipv4",
        nodes=tuple(nodes),
        space=tuple(IPNetwork(s) for s in kwargs.pop("space", ["172.16.0.0/12"])),
        scope_id=SCOPE,
        **kwargs,
    )


def ids(steps) -> list[str]:
    return [s.id for s in steps]


# --- create ------------------------------------------------------------------------------


def test_new_nodes_are_created_then_provisioned_parents_first_siblings_by_name():
    spec = plan(
        [
            node("west", "top", name="west", cidr="172.17.0.0/16", locale="us-west-2"),
            node("top", name="top", cidr="172.16.0.0/12"),
            node("east", "top", name="east", cidr="172.16.0.0/16", locale="us-east-1"),
        ]
    )

    result = diff(spec, world(), [])

    assert [n.kind for n in result.nodes] == [CREATE] * 3
    assert [n.key for n in result.nodes] == ["top", "east", "west"]
    assert ids(result.steps) == [
        "top/create",
        "top/provision",
        "east/create",
        "east/provision",
        "west/create",
        "west/provision",
    ]
    assert result.counts == {CREATE: 3, CHANGE: 0, UNCHANGED: 0, BLOCKED: 0}
    assert result.applicable


def test_a_created_pool_has_the_request_of_the_checks_and_its_parent_by_reference():
    spec = plan(
        [
            node("top", cidr="172.16.0.0/12", description="all", min_netmask=14),
            node("east", "top", cidr="172.16.0.0/16", locale="us-east-1", tags=(("team", "a"),)),
        ]
    )
    tree = Tree.of(spec.nodes)

    steps = {s.id: s for s in diff(spec, world(), []).steps}

    top = steps["top/create"]
    assert top.action == "CreateIpamPool"
    assert top.params == create_pool_request(
        spec.nodes[0], plan=spec, tree=tree, scope_id=SCOPE, source_pool_id=None
    )
    assert "SourceIpamPoolId" not in top.params
    assert top.waits_for == ()
    assert top.settles == "create-complete"
    east = steps["east/create"]
    assert east.params["SourceIpamPoolId"] == {"ref": "top"}
    assert east.params["Locale"] == "us-east-1"
    assert east.params["TagSpecifications"][0]["Tags"] == [
        {"Key": "Name", "Value": "east"},
        {"Key": "team", "Value": "a"},
    ]
    assert steps["top/provision"].params == {"IpamPoolId": {"ref": "top"}, "Cidr": "172.16.0.0/12"}
    assert steps["top/provision"].settles == "provisioned"


def test_a_child_waits_for_its_parent_created_and_holding_its_space():
    spec = plan([node("top", cidr="172.16.0.0/12"), node("east", "top", cidr="172.16.0.0/16")])

    steps = {s.id: s for s in diff(spec, world(), []).steps}

    assert [(w.step, w.node, w.state, w.cidr) for w in steps["east/create"].waits_for] == [
        ("top/create", "top", "create-complete", ""),
        ("top/provision", "top", "provisioned", "172.16.0.0/12"),
    ]
    assert [(w.step, w.state) for w in steps["east/provision"].waits_for] == [
        ("east/create", "create-complete")
    ]
    assert [(w.step, w.state) for w in steps["top/provision"].waits_for] == [
        ("top/create", "create-complete")
    ]


def test_top_level_nodes_of_a_plan_grown_under_a_live_pool_take_its_id():
    spec = plan([node("vpc", cidr="10.0.4.0/24")], parent_pool_id=PROD, space=[])

    result = diff(spec, world(parent_pool_id=PROD), [])

    create = result.steps[0]
    assert create.params["SourceIpamPoolId"] == PROD
    assert create.waits_for == ()


def test_a_new_child_of_a_bound_pool_names_the_pool_and_waits_for_nothing_it_has():
    spec = plan([*bound_tree(), node("vpc", "prod", cidr="10.0.4.0/24")])

    result = diff(spec, world(), [])

    assert result.node("vpc").kind == CREATE
    assert [n.kind for n in result.nodes[:3]] == [UNCHANGED] * 3
    assert ids(result.steps) == ["vpc/create", "vpc/provision"]
    assert result.steps[0].params["SourceIpamPoolId"] == PROD
    assert result.steps[0].waits_for == ()


def test_a_new_child_of_a_pool_given_new_space_and_rules_waits_for_both():
    # prod gets a second block, 10.2.0.0/16 (free in east), and smaller allocations
    nodes = [
        *bound_tree(cidr="10.2.0.0/16", max_netmask=26),
        node("vpc", "prod", cidr="10.2.1.0/24"),
    ]

    result = diff(plan(nodes), world(), [])

    steps = {s.id: s for s in result.steps}
    assert steps["prod/modify"].params == {"IpamPoolId": PROD, "AllocationMaxNetmaskLength": 26}
    assert steps["prod/provision"].params == {"IpamPoolId": PROD, "Cidr": "10.2.0.0/16"}
    assert [(w.step, w.state) for w in steps["vpc/create"].waits_for] == [
        ("prod/provision", "provisioned"),
        ("prod/modify", "modify-complete"),
    ]
    order = ids(result.steps)
    assert order.index("prod/modify") < order.index("prod/provision") < order.index("vpc/create")


def test_a_new_child_in_a_cidr_the_pool_has_does_not_wait_for_its_new_one():
    nodes = [*bound_tree(cidr="10.2.0.0/16"), node("vpc", "prod", cidr="10.0.1.0/24")]

    steps = {s.id: s for s in diff(plan(nodes), world(), []).steps}

    assert steps["vpc/create"].waits_for == ()


# --- unchanged and change ----------------------------------------------------------------


def test_bound_nodes_as_aws_has_them_are_unchanged_and_make_no_call():
    result = diff(plan(bound_tree()), world(), [])

    assert [n.kind for n in result.nodes] == [UNCHANGED] * 3
    assert result.steps == ()
    assert not result.applicable  # nothing to do
    assert result.counts[UNCHANGED] == 3


@pytest.mark.parametrize(
    ("changes", "members"),
    [
        ({"description": "prod, renamed"}, {"Description": "prod, renamed"}),
        ({"min_netmask": 18}, {"AllocationMinNetmaskLength": 18}),
        ({"max_netmask": None}, {"AllocationMaxNetmaskLength": 32}),
        ({"default_netmask": 26}, {"AllocationDefaultNetmaskLength": 26}),
        ({"default_netmask": None}, {"ClearAllocationDefaultNetmaskLength": True}),
        (
            {"allocation_resource_tags": (("environment", "staging"),)},
            {
                "RemoveAllocationResourceTags": [{"Key": "environment", "Value": "prod"}],
                "AddAllocationResourceTags": [{"Key": "environment", "Value": "staging"}],
            },
        ),
        (
            {"allocation_resource_tags": ()},
            {"RemoveAllocationResourceTags": [{"Key": "environment", "Value": "prod"}]},
        ),
    ],
)
def test_a_changed_setting_is_modified_with_only_what_differs(changes, members):
    result = diff(plan(bound_tree(**changes)), world(), [])

    prod = result.node("prod")
    assert prod.kind == CHANGE
    assert [(s.action, s.params) for s in prod.steps] == [
        ("ModifyIpamPool", {"IpamPoolId": PROD, **members})
    ]
    assert prod.steps[0].settles == "modify-complete"
    assert prod.changes
    assert result.counts == {CREATE: 0, CHANGE: 1, UNCHANGED: 2, BLOCKED: 0}


def test_tags_are_created_and_deleted_never_the_reserved_ones():
    result = diff(plan(bound_tree(name="production", tags=(("cost", "42"),))), world(), [])

    prod = result.node("prod")
    assert [(s.action, s.params) for s in prod.steps] == [
        (
            "CreateTags",
            {
                "Resources": [PROD],
                "Tags": [{"Key": "Name", "Value": "production"}, {"Key": "cost", "Value": "42"}],
            },
        ),
        ("DeleteTags", {"Resources": [PROD], "Tags": [{"Key": "team"}]}),
    ]
    assert prod.kind == CHANGE


def test_a_new_cidr_beside_the_pools_is_provisioned():
    nodes = bound_tree()
    nodes[1] = replace(nodes[1], cidr=IPNetwork("10.16.0.0/12"))  # east: a second block

    result = diff(plan(nodes), world(), [])

    east = result.node("east")
    assert east.kind == CHANGE
    assert [(s.action, s.params) for s in east.steps] == [
        ("ProvisionIpamPoolCidr", {"IpamPoolId": EAST, "Cidr": "10.16.0.0/12"})
    ]


def test_a_new_cidr_aws_would_refuse_blocks_the_node_with_the_rules_code():
    nodes = bound_tree()
    nodes[2] = replace(nodes[2], cidr=IPNetwork("10.1.0.0/16"))  # STRAY has it in east

    result = diff(plan(nodes), world(), [])

    prod = result.node("prod")
    assert prod.kind == BLOCKED
    assert [r.code for r in prod.reasons] == ["cidr_overlaps_allocation"]
    assert prod.steps == ()


# --- blocked -----------------------------------------------------------------------------


def test_an_error_finding_blocks_the_node_and_everything_below_it():
    spec = plan(
        [
            node("top", cidr="172.16.0.0/12"),
            node("east", "top", cidr="172.16.0.0/16"),
            node("vpc", "east", cidr="172.16.0.0/24"),
            node("west", "top", cidr="172.17.0.0/16"),
        ]
    )
    broken = finding("east", "locale_not_operating", "The locale is not operating.")

    result = diff(spec, world(), [broken])

    kinds = {n.key: n.kind for n in result.nodes}
    assert kinds == {"top": CREATE, "east": BLOCKED, "vpc": BLOCKED, "west": CREATE}
    assert [r.code for r in result.node("east").reasons] == ["locale_not_operating"]
    assert [(r.code, r.node) for r in result.node("vpc").reasons] == [("parent_blocked", "east")]
    assert ids(result.steps) == ["top/create", "top/provision", "west/create", "west/provision"]
    assert result.counts[BLOCKED] == 2
    assert not result.applicable


def test_warnings_block_nothing_and_findings_may_come_as_stored():
    spec = plan([node("top", cidr="172.16.0.0/12")])
    warning = finding("top", "name_used_by_live_pool", "A live pool has this name.")

    result = diff(spec, world(), [warning.as_dict()])

    assert result.node("top").kind == CREATE


def test_a_plan_wide_error_blocks_the_apply_but_no_node():
    spec = plan([node("top", cidr="172.16.0.0/12")])
    quota = finding(None, "pools_per_scope_exceeded", "Too many pools.")

    result = diff(spec, world(), [quota])

    assert result.node("top").kind == CREATE
    assert [r.code for r in result.plan_reasons] == ["pools_per_scope_exceeded"]
    assert not result.applicable


def test_a_locale_change_is_blocked():
    nodes = bound_tree(locale="us-west-2")

    prod = diff(plan(nodes), world(), []).node("prod")

    assert prod.kind == BLOCKED
    assert [r.code for r in prod.reasons] == ["locale_cannot_change"]


def test_an_inherited_locale_that_changes_is_blocked_too():
    nodes = bound_tree()
    nodes[1] = replace(nodes[1], locale="None")  # east: no locale, and prod inherits it

    result = diff(plan(nodes), world(), [])

    assert "locale_cannot_change" in [r.code for r in result.node("east").reasons]
    assert "locale_cannot_change" in [r.code for r in result.node("prod").reasons]


def test_a_bound_pool_under_another_source_is_blocked():
    nodes = [n for n in bound_tree() if n.key != "east"]
    nodes[1] = replace(nodes[1], parent="top")  # prod directly under top; AWS has it in east

    prod = diff(plan(nodes), world(), []).node("prod")

    assert prod.kind == BLOCKED
    assert "bound_pool_moved" in [r.code for r in prod.reasons]


def test_a_bound_pool_under_a_new_node_is_blocked():
    nodes = bound_tree()
    nodes.append(node("new", "top", cidr="10.0.0.0/12"))
    nodes[2] = replace(nodes[2], parent="new")

    prod = diff(plan(nodes), world(), []).node("prod")

    assert "bound_under_new_pool" in [r.code for r in prod.reasons]


def test_a_cidr_narrower_than_the_live_one_is_blocked():
    nodes = bound_tree(cidr="10.0.0.0/17")

    prod = diff(plan(nodes), world(), []).node("prod")

    assert prod.kind == BLOCKED
    assert [r.code for r in prod.reasons] == ["cidr_narrower_than_live"]


def test_a_cidr_wider_than_the_live_one_is_blocked():
    nodes = bound_tree(cidr="10.0.0.0/15")

    prod = diff(plan(nodes), world(), []).node("prod")

    assert [r.code for r in prod.reasons] == ["cidr_overlaps_live_cidr"]


def test_a_node_bound_to_a_pool_aws_no_longer_has_is_blocked():
    pools = {k: v for k, v in POOLS.items() if k != PROD}

    result = diff(plan(bound_tree()), world(pools), [])

    assert result.node("prod").kind == BLOCKED
    assert [r.code for r in result.node("prod").reasons] == ["bound_pool_missing"]


@pytest.mark.parametrize(
    ("changed", "code"),
    [
        ({"state": "delete-in-progress"}, "bound_pool_ended"),
        ({"scope_id": OTHER_SCOPE}, "bound_pool_other_scope"),
        ({"address_family": "ipv6"}, "bound_pool_other_family"),
    ],
)
def test_a_bound_pool_that_cannot_be_the_node_is_blocked(changed, code):
    pool = POOLS[PROD]
    pools = {**POOLS, PROD: replace(pool, facts=replace(pool.facts, **changed))}

    prod = diff(plan(bound_tree()), world(pools), []).node("prod")

    assert code in [r.code for r in prod.reasons]


def test_a_modification_aws_would_refuse_blocks_the_node():
    pool = POOLS[PROD]
    pools = {**POOLS, PROD: replace(pool, facts=replace(pool.facts, state="modify-in-progress"))}

    prod = diff(plan(bound_tree(description="new")), world(pools), []).node("prod")

    assert [r.code for r in prod.reasons] == ["pool_not_usable"]


def test_a_node_the_packer_could_not_place_is_blocked():
    result = diff(plan([node("top", prefix_length=12)]), world(), [])

    assert [r.code for r in result.node("top").reasons] == ["node_not_placed"]


def test_nodes_in_a_cycle_are_blocked():
    spec = plan([node("a", "b", cidr="172.16.0.0/16"), node("b", "a", cidr="172.17.0.0/16")])

    result = diff(spec, world(), [])

    assert {n.key: n.kind for n in result.nodes} == {"a": BLOCKED, "b": BLOCKED}
    assert result.steps == ()


# --- what is left alone, and the shape ---------------------------------------------------


def test_live_pools_the_plan_does_not_know_are_left_alone():
    result = diff(plan(bound_tree(), space=["10.0.0.0/8", "192.168.0.0/15"]), world(), [])

    assert [(o.pool_id, str(o.cidr), o.source_pool_id, o.under) for o in result.outside] == [
        (STRAY, "10.1.0.0/16", EAST, "east"),
        (NEIGHBOUR, "192.168.0.0/16", "", None),
    ]


def test_the_other_children_of_the_pool_a_plan_grows_under_are_left_alone():
    spec = plan([node("vpc", cidr="10.2.0.0/16")], parent_pool_id=EAST, space=[])

    result = diff(spec, world(parent_pool_id=EAST), [])

    assert {o.pool_id for o in result.outside} == {PROD, STRAY}


def test_references_resolve_to_the_created_pools_ids():
    spec = plan([node("top", cidr="172.16.0.0/12"), node("east", "top", cidr="172.16.0.0/16")])
    steps = {s.id: s for s in diff(spec, world(), []).steps}

    params = resolve(steps["east/create"].params, {"top": "ipam-pool-0000000000000000f"})

    assert params["SourceIpamPoolId"] == "ipam-pool-0000000000000000f"
    with pytest.raises(KeyError):
        resolve(steps["east/provision"].params, {"top": "ipam-pool-0000000000000000f"})
    assert plan_diff.is_ref(steps["east/provision"].params["IpamPoolId"])


def test_a_diff_is_plain_data():
    spec = plan([*bound_tree(description="x"), node("vpc", "prod", cidr="10.0.4.0/24")])

    data = diff(spec, world(), []).as_dict()

    assert json.loads(json.dumps(data)) == data
    assert [s["id"] for s in data["steps"]] == ["prod/modify", "vpc/create", "vpc/provision"]
