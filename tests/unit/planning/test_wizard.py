"""The template wizard: expansion, sizes, names, stability when a plan grows, IPv6 nibbles."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from netaddr import IPNetwork

from planning import packer, wizard
from planning.spec import Intent, Need, NodeSpec, PlanSpec, Tree
from planning.wizard import Level, Size


@pytest.mark.parametrize(("length", "nibble"), [(48, 48), (49, 48), (50, 48), (51, 48), (53, 52)])
def test_nibble_length_is_the_nibble_block_that_holds_the_length(length, nibble):
    # A node that needs a /50 fits in a /48, not in a /52 (a quarter of what it needs).
    assert packer.nibble_length(length) == nibble


# --- the template ----------------------------------------------------------------------------

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
SPACE = (IPNetwork("10.0.0.0/8"),)


def layout(regions=REGIONS, **changes) -> wizard.Template:
    """Top -> Regions -> environments -> 4 VPCs of /20, one spare slot per parent."""
    template = wizard.Template(
        levels=(
            Level("global", wizard.ONE, size=Size(wizard.FIT), spare_slots=1),
            Level("{region}", wizard.REGION, size=Size(wizard.FIT), spare_slots=1),
            Level("{region}-{env}", wizard.ENV, size=Size(wizard.FIT), spare_slots=1),
            Level("{region}-{env}-vpc{n}", wizard.NUMBER, count=4, size=Size(wizard.LENGTH, 20)),
        ),
        regions=tuple(regions),
        environments=("prod", "staging", "dev"),
    )
    return replace(template, **changes)


def by_name(nodes) -> dict[str, NodeSpec]:
    return {n.name: n for n in nodes}


def plan_of(nodes, space=SPACE, family="ipv4") -> PlanSpec:
    return PlanSpec(name="plan", address_family=family, nodes=tuple(nodes), space=tuple(space))


def codes(problems) -> set[str]:
    return {p.code for p in problems}


def test_three_regions_three_environments_four_vpcs_make_49_nodes_sized_from_the_bottom():
    nodes = wizard.expand(layout())

    assert len(nodes) == 1 + 3 + 9 + 36
    named = by_name(nodes)
    tree = Tree.of(nodes)
    family = "ipv4"
    # A VPC is a /20; an environment holds 4 of them and a spare: 5 x /20 -> /17; a Region
    # 3 environments and a spare: 4 x /17 -> /15; the top 3 Regions and a spare -> /13.
    assert named["us-east-1-prod-vpc1"].wanted_length(family) == 20
    assert named["us-east-1-prod"].wanted_length(family) == 17
    assert named["us-east-1"].wanted_length(family) == 15
    assert named["global"].wanted_length(family) == 13
    assert wizard.level_lengths(layout()) == [13, 15, 17, 20]
    # The Regional level sets the locale; the levels below inherit it, the top has none.
    assert named["us-west-2"].locale == "us-west-2"
    assert named["us-west-2-dev"].locale is None
    assert tree.locale(named["us-west-2-dev-vpc3"].key) == "us-west-2"
    assert tree.locale(named["global"].key) is None
    assert tree.depth(named["eu-west-1-staging-vpc4"].key) == 4
    assert [n.name for n in tree.walk(named["eu-west-1-dev"].key)] == [
        f"eu-west-1-dev-vpc{i}" for i in range(1, 5)
    ]
    assert len({n.key for n in nodes}) == len(nodes)


def test_names_are_the_same_each_time_and_keys_are_new():
    first, second = wizard.expand(layout()), wizard.expand(layout())

    assert [n.name for n in first] == [n.name for n in second]
    assert not {n.key for n in first} & {n.key for n in second}


def test_the_preview_packs_every_node_and_adds_up_the_top_level():
    spec = plan_of(wizard.expand(layout()))

    shown = wizard.preview(spec, template=layout())

    assert shown.node_count == shown.placed == 49
    assert not shown.errors, shown.errors
    assert shown.total_addresses == 2 ** (32 - 13)
    assert shown.percent_of_space == round(100 * 2**19 / 2**24, 2)
    assert (shown.total_label, shown.percent_label) == ("524,288 addresses", "3.12%")
    cidrs = {r.name: r.cidr for r in shown.rows}
    assert cidrs["global"] == IPNetwork("10.0.0.0/13")
    for row in shown.rows:
        parent = Tree.of(spec.nodes).parent_of(row.key)
        if parent is not None:
            assert row.cidr in cidrs[parent.name]
    assert [r.depth for r in shown.rows[:4]] == [1, 2, 3, 4]  # parents before their children
    assert shown.lengths == (13, 15, 17, 20)


def test_a_preview_can_stop_listing_rows_but_counts_them_all():
    shown = wizard.preview(plan_of(wizard.expand(layout())), limit=10)

    assert len(shown.rows) == 10
    assert shown.node_count == 49


def test_needs_size_ipv4_nodes_by_need_and_leave_the_need_on_them():
    template = layout(
        levels=(
            Level("{region}", wizard.REGION, size=Size(wizard.FIT)),
            Level("{region}-vpc{n}", wizard.NUMBER, count=2, size=Size(wizard.HOSTS, hosts=1000)),
        )
    )
    nodes = by_name(wizard.expand(template))

    vpc = nodes["us-east-1-vpc1"]
    assert vpc.intent == Intent.NEED
    assert vpc.need == Need(hosts=1000)
    assert vpc.wanted_length("ipv4") == 22
    assert nodes["us-east-1"].wanted_length("ipv4") == 21

    grown = layout(
        levels=(
            Level("{region}", wizard.REGION, size=Size(wizard.FIT)),
            Level(
                "{region}-vpc{n}",
                wizard.NUMBER,
                count=2,
                size=Size(wizard.BLOCKS, length=24, count=3, growth=50),
            ),
        )
    )
    assert wizard.level_lengths(grown) == [20, 21]  # 3 x /24 + 50% -> 1152 addresses -> /21


def test_counts_of_ten_or_more_are_zero_padded_so_names_sort_as_numbers():
    template = wizard.Template(
        levels=(Level("vpc{n}", wizard.NUMBER, count=12, size=Size(wizard.LENGTH, 24)),)
    )

    names = [n.name for n in wizard.expand(template)]

    assert names[:3] == ["vpc01", "vpc02", "vpc03"]
    assert names[-1] == "vpc12"
    packed = wizard.preview(plan_of(wizard.expand(template)))
    cidrs = [r.cidr for r in packed.rows]
    assert cidrs == sorted(cidrs)  # vpc02 follows vpc01, not vpc10


# --- stability as the plan grows ---------------------------------------------------------------


def grown_packing(before_regions, after_regions):
    stored = packer.pack(plan_of(wizard.expand(layout(before_regions)))).nodes
    merged = wizard.merge(wizard.expand(layout(after_regions)), stored)
    return stored, packer.pack(plan_of(merged))


def test_adding_a_region_to_the_template_moves_no_placed_cidr():
    stored, packing = grown_packing(REGIONS, (*REGIONS, "ap-south-1"))

    after = {n.key: n for n in packing.nodes}
    for old in stored:
        new = after[old.key]
        if old.name == "global":  # sized to fit its children: it grows in place
            assert new.cidr.first == old.cidr.first
            assert old.cidr in new.cidr
            assert new.cidr.prefixlen == 12
        else:
            assert new.cidr == old.cidr, old.name
    added = [n for n in packing.nodes if n.key not in {o.key for o in stored}]
    assert len(added) == 1 + 3 + 12
    assert set(packing.moved) == {n.key for n in added}
    assert all(n.cidr is not None for n in added)
    assert not [f for f in packing.findings if f.is_error]
    # The new Region takes the spare slot the top kept.
    spare = packer.pack(plan_of(stored)).spares[by_name(stored)["global"].key][0]
    assert by_name(packing.nodes)["ap-south-1"].cidr == spare


def test_merging_keeps_what_was_set_on_nodes_since_and_nodes_the_template_no_longer_makes():
    stored = packer.pack(plan_of(wizard.expand(layout()))).nodes
    named = by_name(stored)
    edited = [
        replace(n, description="shared VPC", tags=(("team", "net"),))
        if n.name == "us-east-1-prod-vpc1"
        else n
        for n in stored
    ]
    extra = NodeSpec(key="n-extra", name="lab", parent=named["us-east-1"].key, prefix_length=24)

    merged = by_name(wizard.merge(wizard.expand(layout()), [*edited, extra]))

    assert merged["us-east-1-prod-vpc1"].description == "shared VPC"
    assert merged["us-east-1-prod-vpc1"].key == named["us-east-1-prod-vpc1"].key
    assert merged["lab"] == extra
    assert len(merged) == 50


def test_a_bound_node_keeps_its_size_when_merged():
    stored = packer.pack(plan_of(wizard.expand(layout()))).nodes
    bound = [replace(n, pool_id="ipam-pool-0abc") if n.name == "us-east-1" else n for n in stored]

    merged = by_name(wizard.merge(wizard.expand(layout(REGIONS[:1])), bound))

    assert merged["us-east-1"].pool_id == "ipam-pool-0abc"
    assert merged["us-east-1"].prefix_length == by_name(stored)["us-east-1"].prefix_length


# --- IPv6 --------------------------------------------------------------------------------------


def test_the_ipv6_preset_sizes_every_level_on_a_nibble_boundary():
    template = replace(wizard.PRESETS["ipv6-regions-vpcs"].template, regions=REGIONS)

    nodes = wizard.expand(template)

    # Four /56 VPCs and a spare: 5 x /56 would be a /53; the nibble block that holds it: /52.
    assert wizard.level_lengths(template) == [52, 56]
    assert all(n.intent == Intent.LENGTH for n in nodes)
    assert all(n.wanted_length("ipv6") % 4 == 0 for n in nodes)
    shown = wizard.preview(plan_of(nodes, space=[IPNetwork("fd00:10::/32")], family="ipv6"))
    assert shown.placed == 3 + 12
    assert not shown.findings
    assert (shown.total_label, shown.percent_label) == ("12,288 /64 subnets", "under 0.01%")
    assert all(r.cidr.prefixlen % 4 == 0 for r in shown.rows)


def test_an_ipv6_need_is_rounded_up_to_the_nibble_block_that_holds_it():
    template = wizard.Template(
        family="ipv6",
        levels=(
            Level("v6", size=Size(wizard.FIT)),
            Level("vpc{n}", wizard.NUMBER, count=3, size=Size(wizard.HOSTS, hosts=2**62 + 1)),
        ),
    )

    # 2**62 + 1 addresses fit a /65; on a nibble: /64. Three of those: a /62, so a /60.
    assert wizard.level_lengths(template) == [60, 64]
    vpc = by_name(wizard.expand(template))["vpc1"]
    assert (vpc.intent, vpc.prefix_length, vpc.need) == (Intent.LENGTH, 64, None)


# --- problems ----------------------------------------------------------------------------------


def level_problem(template, index, field):
    return {p.code for p in wizard.check(template) if p.level == index and p.field == field}


def test_the_last_level_cannot_fit_children_it_does_not_have():
    template = wizard.Template(levels=(Level("top", size=Size(wizard.FIT)),))

    assert level_problem(template, 0, "size") == {"fit_without_children"}
    with pytest.raises(wizard.TemplateError) as raised:
        wizard.expand(template)
    assert codes(raised.value.problems) == {"fit_without_children"}


def test_a_repeating_level_must_name_its_nodes_apart():
    template = layout(
        levels=(
            Level("{region}", wizard.REGION, size=Size(wizard.FIT)),
            Level("vpc{n}", wizard.NUMBER, count=2, size=Size(wizard.LENGTH, 24)),
        )
    )

    assert level_problem(template, 1, "pattern") == {"names_not_unique"}
    no_dimension = layout(levels=(Level("regional", wizard.REGION, size=Size(wizard.LENGTH, 16)),))
    assert "pattern_without_dimension" in level_problem(no_dimension, 0, "pattern")


def test_a_placeholder_must_be_a_dimension_of_the_level_or_above():
    template = layout(
        levels=(
            Level("{env}", wizard.REGION, size=Size(wizard.FIT)),
            Level("{region}-{env}", wizard.ENV, size=Size(wizard.LENGTH, 20)),
        )
    )

    assert "pattern_placeholder_unknown" in level_problem(template, 0, "pattern")
    assert level_problem(template, 1, "pattern") == set()
    hostile = layout(
        levels=(Level("{0.__class__}{region}", wizard.REGION, size=Size("length", 16)),)
    )
    assert "pattern_placeholder_unknown" in level_problem(hostile, 0, "pattern")


def test_a_level_too_small_for_its_children_and_spares():
    template = layout(
        levels=(
            Level("{region}", wizard.REGION, size=Size(wizard.LENGTH, 18), spare_slots=1),
            Level("{region}-vpc{n}", wizard.NUMBER, count=4, size=Size(wizard.LENGTH, 20)),
        )
    )

    assert level_problem(template, 0, "length") == {"level_too_small"}
    roomy = replace(template.levels[0], size=Size(wizard.LENGTH, 17))
    assert wizard.check(replace(template, levels=(roomy, template.levels[1]))) == []


def test_sizes_past_the_family_are_refused():
    template = wizard.Template(
        levels=(
            Level("top", size=Size(wizard.FIT)),
            Level("vpc{n}", wizard.NUMBER, count=3, size=Size(wizard.LENGTH, 0)),
        )
    )

    assert level_problem(template, 0, "size") == {"size_too_large"}
    assert level_problem(template, 1, "size") == set()
    out_of_range = wizard.Template(levels=(Level("a", size=Size(wizard.LENGTH, 33)),))
    assert level_problem(out_of_range, 0, "length") == {"length_out_of_range"}
    hosts = wizard.Template(levels=(Level("a", size=Size(wizard.HOSTS, hosts=0)),))
    assert level_problem(hosts, 0, "hosts") == {"hosts_out_of_range"}


def test_depth_and_size_of_a_template_are_bounded():
    deep = wizard.Template(
        levels=tuple(Level(f"l{i}", size=Size(wizard.LENGTH, 8 + i)) for i in range(11))
    )
    assert codes(wizard.check(deep)) == {"too_many_levels"}
    ten = replace(deep, levels=deep.levels[:10])
    assert wizard.check(ten) == []
    assert len(wizard.expand(ten)) == 10

    wide = wizard.Template(
        levels=(
            Level("a{n}", wizard.NUMBER, count=100, size=Size(wizard.FIT)),
            Level("a{n}-{region}", wizard.REGION, size=Size(wizard.LENGTH, 28)),
        ),
        regions=tuple(f"r{i}" for i in range(20)),
    )
    assert codes(wizard.check(wide)) == {"too_many_nodes"}


def test_a_dimension_without_values_or_repeated():
    template = layout(environments=())

    assert level_problem(template, 2, "dimension") == {"dimension_without_values"}
    twice = layout(
        levels=(
            Level("{region}", wizard.REGION, size=Size(wizard.FIT)),
            Level("{region}-again", wizard.REGION, size=Size(wizard.LENGTH, 20)),
        )
    )
    assert "dimension_repeated" in level_problem(twice, 1, "dimension")


def test_names_must_be_tags_aws_can_carry():
    unsafe = layout(regions=("us-east-1\x01",))
    assert "text_not_xml_safe" in {p.code for p in wizard.check(unsafe)}
    long = wizard.Template(levels=(Level("x" * 300, size=Size(wizard.LENGTH, 16)),))
    assert level_problem(long, 0, "pattern") == {"name_too_long"}
    repeated = layout(environments=("prod", "PROD"))
    assert {(p.field, p.code) for p in wizard.check(repeated)} >= {
        ("environments", "value_repeated")
    }


def test_every_preset_expands_and_packs_without_errors():
    for preset in wizard.PRESETS.values():
        template = replace(preset.template, regions=REGIONS)
        nodes = wizard.expand(template)
        spec = plan_of(nodes, space=[IPNetwork(preset.space)], family=template.family)
        shown = wizard.preview(spec)
        assert shown.placed == len(nodes), preset.key
        assert not shown.errors, (preset.key, shown.errors)


# --- any template ------------------------------------------------------------------------------

DIMENSION = st.sampled_from([d for d, _ in wizard.DIMENSIONS])
SIZES = st.one_of(
    st.builds(Size, st.just(wizard.FIT)),
    st.builds(Size, st.just(wizard.LENGTH), st.integers(-2, 34)),
    st.builds(
        Size,
        st.just(wizard.BLOCKS),
        st.integers(-1, 34),
        st.integers(-1, 2000),
        growth=st.integers(-5, 1100),
    ),
    st.builds(
        Size, st.just(wizard.HOSTS), hosts=st.integers(-1, 2**40), growth=st.integers(0, 300)
    ),
)
LEVELS = st.builds(
    Level,
    st.sampled_from(["{region}", "x{n}", "{unit}-{env}", "{region}-{n}", "top", "{zz}", ""]),
    DIMENSION,
    count=st.integers(0, 12),
    size=SIZES,
    spare_slots=st.integers(-1, 3),
)
VALUES = st.lists(st.sampled_from(["a", "b", "c", "A", "", "d\x00"]), max_size=3).map(tuple)


@given(
    levels=st.lists(LEVELS, min_size=0, max_size=5).map(tuple),
    regions=VALUES,
    units=VALUES,
    envs=VALUES,
    family=st.sampled_from(["ipv4", "ipv6"]),
)
def test_any_template_is_judged_and_a_sound_one_expands_into_a_packable_tree(
    levels, regions, units, envs, family
):
    template = wizard.Template(levels, family, regions, units, envs)

    problems = wizard.check(template)

    if problems:
        with pytest.raises(wizard.TemplateError):
            wizard.expand(template)
        return
    nodes = wizard.expand(template)
    assert len(nodes) == wizard.node_count(template)
    assert len({n.name.casefold() for n in nodes}) == len(nodes)
    everything = IPNetwork("::/0" if family == "ipv6" else "0.0.0.0/0")
    packing = packer.pack(plan_of(nodes, space=[everything], family=family))
    tree = Tree.of(packing.nodes)
    # Below the top, every node finds room in its parent: the sizes were worked out for it.
    inner = [f for f in packing.findings if f.is_error and tree.parent_of(f.node) is not None]
    assert not inner, inner
