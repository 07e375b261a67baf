"""The packer: alignment, largest first, spare slots, and stability under edits."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from netaddr import IPNetwork

from planning.packer import nibble_length, pack, parent_size_for
from planning.spec import Intent, Need, NodeSpec, PlanSpec


def node(key: str, parent: str | None = None, **kwargs) -> NodeSpec:
    return NodeSpec(key=key, name=kwargs.pop("name", key), parent=parent, **kwargs)


def plan(*nodes: NodeSpec, space: str = "10.0.0.0/8", family: str = "ipv4") -> PlanSpec:
    return PlanSpec("p", family, tuple(nodes), space=(IPNetwork(space),) if space else ())


def cidrs(packing) -> dict[str, str | None]:
    return {n.key: str(n.cidr) if n.cidr else None for n in packing.nodes}


def codes(packing) -> list[tuple[str | None, str]]:
    return [(f.node, f.code) for f in packing.findings]


REGIONS = (
    node("top", prefix_length=12),
    node("east", "top", prefix_length=14, locale="us-east-1"),
    node("west", "top", prefix_length=14, locale="us-west-2"),
    node("prod", "east", prefix_length=16),
    node("dev", "east", prefix_length=17),
    node("vpc1", "prod", prefix_length=20),
    node("vpc2", "prod", prefix_length=20),
)


def test_nodes_are_placed_aligned_largest_first_then_by_name():
    packed = pack(
        plan(
            node("top", prefix_length=16),
            node("small", "top", prefix_length=24),
            node("big", "top", prefix_length=18),
            node("b-mid", "top", prefix_length=20),
            node("a-mid", "top", prefix_length=20),
        )
    )
    assert cidrs(packed) == {
        "top": "10.0.0.0/16",
        "small": "10.0.96.0/24",
        "big": "10.0.0.0/18",
        "b-mid": "10.0.80.0/20",
        "a-mid": "10.0.64.0/20",
    }
    assert packed.findings == []


def test_packing_is_deterministic_whatever_the_order_of_the_nodes():
    assert cidrs(pack(plan(*REGIONS))) == cidrs(pack(plan(*reversed(REGIONS))))


def test_placement_skips_what_is_taken_and_stays_aligned():
    packed = pack(
        plan(node("top", prefix_length=16), node("a", "top", prefix_length=20)),
        taken={None: [IPNetwork("10.0.0.0/9")]},
        held=[IPNetwork("10.128.0.0/24")],
    )
    # The /16 cannot start at 10.128.0.0 (held) and must be aligned: 10.129.0.0/16.
    assert cidrs(packed)["top"] == "10.129.0.0/16"


def test_a_parent_s_allocation_rules_are_honoured():
    packed = pack(
        plan(
            node("top", prefix_length=16, min_netmask=20, max_netmask=24),
            node("too-big", "top", prefix_length=18),
            node("ok", "top", prefix_length=22),
        )
    )
    assert cidrs(packed)["too-big"] is None
    assert cidrs(packed)["ok"] == "10.0.0.0/22"
    assert ("too-big", "cidr_netmask_outside_pool_rules") in codes(packed)


def test_a_need_is_sized_up_to_a_block_with_growth():
    assert node("n", intent=Intent.NEED, need=Need(8, 20, growth=25)).wanted_length("ipv4") == 16
    assert node("n", intent=Intent.NEED, need=Need(8, 20)).wanted_length("ipv4") == 17
    assert node("n", intent=Intent.NEED, need=Need(hosts=500)).wanted_length("ipv4") == 23
    assert node("n", intent=Intent.NEED, need=Need(hosts=2**33)).wanted_length("ipv4") is None


def test_spare_slots_are_kept_free_after_the_children_or_reported_short():
    packed = pack(
        plan(
            node("top", prefix_length=16, spare_slots=2),
            node("a", "top", prefix_length=18),
            node("b", "top", prefix_length=18),
        )
    )
    assert [str(s) for s in packed.spares["top"]] == ["10.0.128.0/18", "10.0.192.0/18"]
    short = pack(
        plan(
            node("top", prefix_length=16, spare_slots=3),
            node("a", "top", prefix_length=18),
            node("b", "top", prefix_length=18),
        )
    )
    assert ("top", "spare_slots_short") in codes(short)


def test_ipv6_is_placed_on_nibble_boundaries_by_the_sizes_it_is_given():
    assert nibble_length(49) == 48  # the nibble block that holds a /49
    assert nibble_length(48) == 48
    packed = pack(
        plan(
            node("top", prefix_length=44),
            node("a", "top", prefix_length=48),
            node("b", "top", prefix_length=48),
            space="2001:db8::/32",
            family="ipv6",
        )
    )
    assert cidrs(packed)["b"] == "2001:db8:1::/48"


def test_parent_size_for_children_and_spares():
    assert parent_size_for([20, 20, 20], 1, "ipv4") == 18
    assert parent_size_for([20, 24], 0, "ipv4") == 19
    assert parent_size_for([], 0, "ipv4") is None


# --- stability: a table of edits after which no CIDR of an existing node may change -----------


def add_region(nodes):
    return [*nodes, node("central", "top", prefix_length=14, locale="eu-west-1")]


def add_a_big_sibling_first_in_name_order(nodes):
    return [*nodes, node("aaa", "top", prefix_length=13)]


def grow_vpc1(nodes):
    return [replace(n, prefix_length=19) if n.key == "vpc1" else n for n in nodes]


def shrink_prod(nodes):
    return [replace(n, prefix_length=17) if n.key == "prod" else n for n in nodes]


def remove_east_dev(nodes):
    return [n for n in nodes if n.key != "dev"]


def add_children_everywhere(nodes):
    extra = [node(f"{n.key}-x", n.key, prefix_length=24) for n in nodes]
    return [*nodes, *extra]


def rename_everything(nodes):
    return [replace(n, name=f"zz-{n.name}") for n in nodes]


EDITS = [
    add_region,
    add_a_big_sibling_first_in_name_order,
    grow_vpc1,
    shrink_prod,
    remove_east_dev,
    add_children_everywhere,
    rename_everything,
]


@pytest.mark.parametrize("edit", EDITS, ids=lambda e: e.__name__)
def test_no_edit_moves_a_node_that_has_a_cidr(edit):
    first = pack(plan(*REGIONS))
    before = {n.key: n.cidr for n in first.nodes}
    edited = edit(list(first.nodes))
    after = pack(plan(*edited))
    for n in after.nodes:
        if n.key in before and n.cidr is not None:
            old = before[n.key]
            resized = n.cidr.prefixlen != old.prefixlen
            # A resize stays in place: the new block holds, or starts at, the old one.
            assert n.cidr == old or (resized and (old in n.cidr or n.cidr.first == old.first)), (
                n.key,
                old,
                n.cidr,
            )


def test_a_grow_with_no_room_keeps_the_cidr_and_says_renumbering_needed():
    first = pack(plan(*REGIONS))
    grown = [replace(n, prefix_length=15) if n.key == "prod" else n for n in first.nodes]
    after = pack(plan(*grown))
    assert cidrs(after)["prod"] == cidrs(first)["prod"]
    found = [f for f in after.findings if f.code == "renumbering_needed"]
    assert [f.node for f in found] == ["prod"]
    assert "Options" in found[0].fix


def test_bound_and_pinned_nodes_never_move_even_when_repacked():
    packed = pack(
        plan(
            node("top", prefix_length=16),
            node("bound", "top", prefix_length=20, cidr=IPNetwork("10.0.240.0/20"), pool_id="p-1"),
            node("pin", "top", intent=Intent.CIDR, cidr=IPNetwork("10.0.128.0/20")),
            node("free", "top", prefix_length=20, cidr=IPNetwork("10.0.64.0/20")),
        ),
        replace_keys=frozenset({"bound", "pin", "free"}),
    )
    assert cidrs(packed)["bound"] == "10.0.240.0/20"
    assert cidrs(packed)["pin"] == "10.0.128.0/20"
    assert cidrs(packed)["free"] == "10.0.0.0/20"  # repacked: the lowest free block


def test_a_node_that_does_not_fit_says_so_with_options():
    packed = pack(plan(node("top", prefix_length=24), node("big", "top", prefix_length=20)))
    assert ("big", "node_no_room") in codes(packed)
    assert cidrs(packed)["big"] is None


def test_without_space_the_top_level_is_reported():
    packed = pack(plan(node("top", prefix_length=16), space=""))
    assert (("top", "plan_no_space")) in codes(packed)


@st.composite
def random_trees(draw):
    count = draw(st.integers(1, 25))
    nodes = [node("n0", prefix_length=draw(st.integers(8, 16)))]
    for i in range(1, count):
        parent = nodes[draw(st.integers(0, i - 1))]
        length = draw(st.integers(min(parent.prefix_length + 1, 32), 32))
        nodes.append(node(f"n{i}", parent.key, prefix_length=length))
    return nodes


@settings(max_examples=60, deadline=None)
@given(random_trees(), st.data())
def test_property_adding_any_node_moves_nothing(nodes, data):
    first = pack(plan(*nodes))
    placed = [n for n in first.nodes if n.cidr is not None]
    parent = data.draw(st.sampled_from(placed)) if placed else None
    low = min(parent.cidr.prefixlen + 1, 32) if parent else 8
    length = data.draw(st.integers(low, 32))
    extra = node("new", parent.key if parent else None, prefix_length=length)
    after = pack(plan(*first.nodes, extra))
    before = {n.key: n.cidr for n in first.nodes}
    assert all(before[n.key] == n.cidr for n in after.nodes if n.key in before)
    # Placed siblings never overlap.
    by_parent: dict = {}
    for n in after.nodes:
        if n.cidr is not None:
            by_parent.setdefault(n.parent, []).append(n.cidr)
    for blocks in by_parent.values():
        blocks.sort(key=lambda c: c.first)
        assert all(a.last < b.first for a, b in itertools.pairwise(blocks))
