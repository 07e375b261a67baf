"""pools.addressmap: a pool's CIDRs cut into rows, blocks placed on them to scale."""

from __future__ import annotations

import itertools
import math

import pytest
from netaddr import IPNetwork, IPRange

from pools import addressmap
from pools.addressmap import (
    CHAR_PX,
    LABEL_WIDTH,
    MAX_ROWS,
    MIN_BLOCK_PX,
    MIN_VISIBLE_PX,
    ROW_GAP,
    ROW_HEIGHT,
    WIDTH,
    Block,
    layout,
)


def block(cidr: str, kind: str = "pool", label: str = "x") -> Block:
    return Block(IPNetwork(cidr), kind, label, f"/{kind}/{cidr}")


def rects_of(space_map: addressmap.AddressMap, cidr: str) -> list[addressmap.Rect]:
    return [r for r in space_map.rects if str(r.block.network) == cidr]


def rows(space_map: addressmap.AddressMap, section: int = 0) -> list[str]:
    return [label for _, label in space_map.sections[section].rows]


# --- rows ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("space", "smallest"),
    [
        ("10.0.0.0/8", "10.0.0.0/9"),
        ("10.0.0.0/8", "10.0.0.0/12"),
        ("10.0.0.0/8", "10.0.0.0/16"),
        ("10.0.0.0/16", "10.0.0.0/24"),
        ("10.0.0.0/16", "10.0.0.0/28"),
        ("10.0.0.0/30", "10.0.0.0/32"),
        ("fd00::/32", "fd00::/48"),
        ("fd00::/32", "fd00::/64"),
        ("2600:1f00::/24", "2600:1f00::/56"),
    ],
)
def test_rows_are_powers_of_two_that_start_on_cidr_boundaries(space, smallest):
    cidr = IPNetwork(space)
    space_map = layout([cidr], [block(smallest)])
    labels = rows(space_map)
    count = len(labels)
    assert count & (count - 1) == 0  # a power of two
    assert 1 <= count <= MAX_ROWS
    prefix = cidr.prefixlen + int(math.log2(count))
    expected = list(cidr.subnet(prefix, count=count))
    assert [IPNetwork(label) for label in labels] == expected
    assert sum(IPNetwork(label).size for label in labels) == cidr.size


def test_rows_grow_until_the_smallest_block_is_wide_enough():
    space_map = layout([IPNetwork("10.0.0.0/16")], [block("10.0.0.0/22")])
    (rect,) = space_map.rects
    assert rect.width >= MIN_BLOCK_PX
    assert rect.width / 2 < MIN_BLOCK_PX  # half as many rows would not do
    assert len(rows(space_map)) == 8
    one_row = layout([IPNetwork("10.0.0.0/16")], [block("10.0.0.0/17")])
    assert rows(one_row) == ["10.0.0.0/16"]


def test_rows_are_capped():
    space_map = layout([IPNetwork("10.0.0.0/8")], [block("10.0.0.0/32")])
    assert len(rows(space_map)) == MAX_ROWS


def test_a_single_address():
    space_map = layout([IPNetwork("10.0.0.7/32")], [block("10.0.0.7/32")])
    assert rows(space_map) == ["10.0.0.7/32"]
    assert [(r.x, r.width) for r in space_map.rects] == [(LABEL_WIDTH, WIDTH)]


def test_rows_are_evenly_spaced_below_the_header():
    space_map = layout([IPNetwork("10.0.0.0/16")], [block("10.0.0.0/24")])
    ys = [y for y, _ in space_map.sections[0].rows]
    assert ys[0] == addressmap.HEADER_HEIGHT
    assert {round(b - a, 6) for a, b in itertools.pairwise(ys)} == {ROW_HEIGHT + ROW_GAP}


# --- blocks to scale ---------------------------------------------------------------------------


def test_blocks_are_drawn_to_scale_at_their_offset():
    space_map = layout(
        [IPNetwork("10.0.0.0/16")],
        [block("10.0.0.0/17"), block("10.0.128.0/18"), block("10.0.192.0/18", "free")],
    )
    assert len(rows(space_map)) == 1
    first, second, third = (
        rects_of(space_map, c)[0] for c in ("10.0.0.0/17", "10.0.128.0/18", "10.0.192.0/18")
    )
    assert (first.x, first.width) == (LABEL_WIDTH, WIDTH / 2)
    assert (second.x, second.width) == (LABEL_WIDTH + WIDTH / 2, WIDTH / 4)
    assert (third.x, third.width) == (LABEL_WIDTH + 3 * WIDTH / 4, WIDTH / 4)
    assert first.y == second.y == third.y == addressmap.HEADER_HEIGHT


def test_every_block_covers_its_share_of_the_space():
    blocks = [block("10.0.0.0/20"), block("10.0.16.0/24", "allocation"), block("10.0.64.0/18")]
    space_map = layout([IPNetwork("10.0.0.0/16")], blocks)
    row_count = len(rows(space_map))
    for b in blocks:
        drawn = sum(r.width for r in rects_of(space_map, str(b.network)))
        assert drawn == pytest.approx(WIDTH * row_count * b.network.size / 2**16)


def test_a_block_spanning_rows_is_split_into_segments():
    # The /24 asks for 32 rows of a /21; the /17 covers 16 of them, whole.
    blocks = [block("10.0.0.0/24"), block("10.0.32.0/19"), block("10.0.128.0/17", "free")]
    space_map = layout([IPNetwork("10.0.0.0/16")], blocks)
    assert len(rows(space_map)) == 32
    segments = rects_of(space_map, "10.0.128.0/17")
    assert len(segments) == 16
    assert [r.y for r in segments] == [y for y, _ in space_map.sections[0].rows[16:]]
    assert all(r.x == LABEL_WIDTH and r.width == WIDTH for r in segments)
    assert segments[0].text == "x 10.0.128.0/17"  # labelled once, where it starts
    assert {r.text for r in segments[1:]} == {""}
    (inside,) = rects_of(space_map, "10.0.0.0/24")
    assert inside.width == WIDTH / 8


def test_segments_in_a_small_cidr():
    # The /30 asks for 8 rows of a /27; the /25 covers rows 4 to 7.
    space_map = layout(
        [IPNetwork("10.0.0.0/24")], [block("10.0.0.0/30"), block("10.0.0.128/25", "free")]
    )
    assert rows(space_map)[4] == "10.0.0.128/27"
    segments = rects_of(space_map, "10.0.0.128/25")
    assert [(r.x, r.width) for r in segments] == [(LABEL_WIDTH, WIDTH)] * 4
    assert [r.y for r in segments] == [y for y, _ in space_map.sections[0].rows[4:]]


def test_ipv6_is_drawn_to_scale_too():
    space = IPNetwork("fd00:ec2::/32")
    blocks = [
        block("fd00:ec2::/34"),
        block("fd00:ec2:4000::/48"),
        block("fd00:ec2:8000::/33", "free"),
    ]
    space_map = layout([space], blocks)
    labels = rows(space_map)
    assert all(IPNetwork(label).version == 6 for label in labels)
    row_count = len(labels)
    for b in blocks:
        drawn = sum(r.width for r in rects_of(space_map, str(b.network)))
        to_scale = WIDTH * row_count * b.network.size / space.size
        assert drawn == pytest.approx(max(to_scale, MIN_VISIBLE_PX))  # a /48 is drawn, 3 px
    assert rows(space_map)[0] == f"fd00:ec2::/{32 + int(math.log2(row_count))}"


def test_sections_are_stacked_ipv4_first():
    space_map = layout(
        [IPNetwork("fd00::/48"), IPNetwork("10.1.0.0/16"), IPNetwork("10.0.0.0/16")],
        [block("10.0.0.0/17"), block("10.1.0.0/17"), block("fd00::/49")],
    )
    assert [str(s.cidr) for s in space_map.sections] == ["10.0.0.0/16", "10.1.0.0/16", "fd00::/48"]
    ys = [s.y for s in space_map.sections]
    assert ys == sorted(ys)
    assert space_map.height > ys[-1]
    for section in space_map.sections:  # each block in its own section
        inside = [r for r in space_map.rects if r.y > section.y]
        assert inside


def test_a_block_outside_the_space_is_not_drawn():
    space_map = layout([IPNetwork("10.0.0.0/16")], [block("10.1.0.0/24")])
    assert space_map.rects == []


def test_an_empty_space_draws_nothing():
    space_map = layout([], [])
    assert space_map.sections == []
    assert space_map.rects == []
    assert space_map.height == ROW_HEIGHT


# --- labels ------------------------------------------------------------------------------------


def test_labels_only_when_they_fit():
    wide = block("10.0.0.0/17", label="us-east-1-prod")
    medium = block("10.0.128.0/21", label="us-east-1-prod")  # 60 px: not even the CIDR
    space_map = layout([IPNetwork("10.0.0.0/16")], [wide, medium])
    text = {str(r.block.network): r for r in reversed(space_map.rects)}  # first segments
    assert text["10.0.0.0/17"].text == "us-east-1-prod 10.0.0.0/17"
    fitting = text["10.0.128.0/21"]
    assert len(fitting.text) * CHAR_PX <= fitting.width
    assert fitting.text in ("", "us-east-1-prod", "10.0.128.0/21")


@pytest.mark.parametrize(
    ("width", "label", "expected"),
    [
        (400, "web", "web 10.0.0.0/24"),
        ((len("a-long-pool-name") + 1) * CHAR_PX, "a-long-pool-name", "a-long-pool-name"),
        ((len("10.0.0.0/24") + 1) * CHAR_PX, "a-long-pool-name", "10.0.0.0/24"),
        (20, "web", ""),
    ],
)
def test_the_text_is_the_longest_that_fits(width, label, expected):
    assert addressmap._fitting_text(block("10.0.0.0/24", label=label), width) == expected


def test_ipv6_labels_fit_the_label_column():
    space_map = layout([IPNetwork("2600:1f14:abcd:ef00::/56")], [block("2600:1f14:abcd:ef00::/64")])
    assert all(len(label) * CHAR_PX * 10 / 11 <= LABEL_WIDTH for label in rows(space_map))


def test_a_block_too_small_for_the_scale_is_still_drawn_inside_its_row():
    space = IPNetwork("10.0.0.0/8")
    tiny_first, tiny_last = block("10.0.0.0/28", "allocation"), block("10.255.255.240/28")
    space_map = layout([space], [tiny_first, tiny_last, block("10.128.0.0/9", "free")])
    (first,) = rects_of(space_map, "10.0.0.0/28")
    (last,) = rects_of(space_map, "10.255.255.240/28")
    assert first.width == last.width == MIN_VISIBLE_PX
    assert first.x == LABEL_WIDTH
    assert last.x + last.width == pytest.approx(LABEL_WIDTH + WIDTH)


def test_a_free_range_that_is_no_cidr_is_drawn_across_rows():
    space = IPNetwork("10.0.0.0/24")
    free = Block(IPRange("10.0.0.16", "10.0.0.255"), "free", "free 15 x /28", "/new/")
    space_map = layout([space], [block("10.0.0.0/28", "allocation"), free])
    drawn = [r for r in space_map.rects if r.block is free]
    rows_count = len(rows(space_map))
    assert sum(r.width for r in drawn) == pytest.approx(WIDTH * rows_count * 240 / 256)
