"""The pure parts of the pool tree: nodes, free blocks, the block offered for a child pool,
URLs of the open set, and the rows written for the page (no database)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from netaddr import IPNetwork

from awsipam.addressing import child_block, free_ranges
from pools import addressmap
from pools.models import IpamPool, State
from pools.templatetags.pool_tree import TreeWriter, address_map_blocks, tree_items
from pools.tree import FreeBlock, Node, arrange, create_here, tree_url


def pool(pk: int = 1, **fields) -> IpamPool:
    values = {
        "pool_id": f"ipam-pool-{pk:017x}",
        "name": f"pool-{pk}",
        "depth": 1,
        "state": State.CREATE_COMPLETE,
        "address_family": "ipv4",
        "allocation_min_netmask_length": 0,
        "allocation_max_netmask_length": 32,
        **fields,
    }
    return IpamPool(id=pk, **values)


def node(pk: int = 1, cidrs=(), allocations=None, **fields) -> Node:
    return Node(
        pool(pk, **fields),
        cidrs=[IPNetwork(c) for c in cidrs],
        allocations=None if allocations is None else [IPNetwork(a) for a in allocations],
    )


# --- nodes -------------------------------------------------------------------------------------


def test_use_is_the_share_of_provisioned_space_allocated():
    n = node(cidrs=["10.0.0.0/16", "10.1.0.0/16"])
    assert n.used_percent == 0
    n.used = 2**16 // 8
    assert n.used_percent == 6.2
    assert node().used_percent is None


def test_nodes_sort_by_address_then_name():
    v6 = node(1, cidrs=["fd00::/8"])
    high = node(2, cidrs=["10.1.0.0/16"])
    low = node(3, cidrs=["10.1.0.0/24", "10.0.0.0/16"])
    bare_b, bare_a = node(4, name="b"), node(5, name="a")
    ordered = sorted([v6, bare_b, high, low, bare_a], key=lambda n: n.sort_key)
    assert ordered == [low, high, v6, bare_a, bare_b]


def test_only_a_pool_with_children_can_open():
    assert not node(cidrs=["10.0.0.0/16"]).has_children  # its free space is on its map
    with_child = node()
    with_child.child_count = 1
    assert with_child.has_children
    assert not node().has_children


def test_arrange_puts_free_blocks_between_children_in_address_order():
    parent = node(1, cidrs=["10.0.0.0/16"], allocations=["10.0.0.0/18", "10.0.128.0/17"])
    child = node(2, cidrs=["10.0.128.0/17"])
    arrange(parent, [child])
    assert parent.expanded
    assert [c.pool.pool_id if isinstance(c, Node) else str(c.range) for c in parent.children] == [
        "10.0.64.0 - 10.0.127.255",  # the /18 at 10.0.0.0 is an allocation: not listed
        child.pool.pool_id,
    ]
    assert all(c.parent is parent.pool for c in parent.children if isinstance(c, FreeBlock))


def test_free_space_is_the_ranges_between_allocations():
    parent = node(
        cidrs=["10.0.0.0/24", "10.0.1.0/24"], allocations=["10.0.0.64/26", "10.0.0.192/26"]
    )
    assert [str(b.range) for b in parent.free_blocks()] == [
        "10.0.0.0 - 10.0.0.63",
        "10.0.0.128 - 10.0.0.191",
        "10.0.1.0 - 10.0.1.255",  # a range never crosses into another provisioned CIDR
    ]
    assert [b.addresses for b in parent.free_blocks()] == [64, 64, 256]


# --- the block offered for a child pool --------------------------------------------------------


@pytest.mark.parametrize(
    ("free", "low", "high", "offered"),
    [
        ("10.64.0.0/10", 12, 16, "10.64.0.0/12"),  # wider than allowed: its first /12
        ("10.48.0.0/12", 12, 16, "10.48.0.0/12"),
        ("10.48.0.0/14", 12, 16, "10.48.0.0/14"),
        ("10.48.0.0/17", 12, 16, None),  # narrower than allowed
        ("fd00:8000::/17", 48, 64, "fd00:8000::/48"),
    ],
)
def test_child_block(free, low, high, offered):
    result = child_block(IPNetwork(free), low, high)
    assert (str(result) if result else None) == offered


@pytest.mark.parametrize(
    ("fields", "offered"),
    [
        ({}, True),
        ({"depth": 9}, True),
        ({"depth": 10}, False),  # a child would be at depth 11
        ({"state": State.CREATE_IN_PROGRESS}, False),
        ({"state": State.CREATE_FAILED}, False),
        ({"state": State.MODIFY_COMPLETE}, True),
    ],
)
def test_create_here_needs_a_usable_pool_below_depth_ten(fields, offered):
    (free,) = free_ranges([IPNetwork("10.0.0.0/24")], [])
    assert (create_here(pool(**fields), free) is not None) == offered


# --- URLs of the open set ----------------------------------------------------------------------


def test_tree_url():
    assert tree_url([]) == "?"
    assert tree_url(["b", "a", "b"]) == "?open=a,b"


# --- the rows written for the page -------------------------------------------------------------


def parse(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href.replace("&amp;", "&")).query)


def test_rows_escape_what_pools_are_called():
    hostile = node(1, cidrs=["10.0.0.0/16"], name='<script>alert("x")</script>', locale="<b>")
    html = TreeWriter(set(), can_create=True).write([hostile], 1, ())
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<b>" not in html


def test_row_of_a_closed_and_an_open_node():
    closed = node(1, cidrs=["10.0.0.0/16"], locale="us-east-1")
    closed.used, closed.child_count = 2**14, 1
    html = TreeWriter({"ipam-pool-x"}, can_create=False).write([closed], 3, ())
    assert 'aria-level="3"' in html
    assert 'aria-expanded="false"' in html
    assert '<ul role="group" hidden></ul>' in html
    assert '25%<span class="visually-hidden"> allocated</span>' in html
    assert "1 child<" in html
    assert 'href="/pools/ipam-pool-00000000000000001/"' in html
    assert 'href="/pools/ipam-pool-00000000000000001/map/"' in html
    toggle = html.split('class="toggle" href="')[1].split('"')[0]
    assert parse(toggle) == {"open": ["ipam-pool-00000000000000001,ipam-pool-x"]}

    opened = node(1, cidrs=["10.0.0.0/16"], allocations=["10.0.0.0/24"])
    opened.child_count = 1
    arrange(opened, [node(2, cidrs=["10.0.0.0/24"])])
    html = TreeWriter({opened.pool.pool_id}, can_create=True).write([opened], 1, ())
    assert 'aria-expanded="true"' in html
    assert '<ul role="group"><li role="treeitem" aria-level="2" id="node-' in html
    assert '<li role="treeitem" aria-level="2" class="free"' in html
    assert 'class="toggle" href="?"' in html
    href = html.split('class="create-here" href="')[1].split('"')[0]
    assert parse(href) == {"source": [opened.pool.pool_id], "cidr": ["10.0.128.0/17"]}


def test_without_an_open_set_toggles_open_the_path():
    leaf = node(3, cidrs=["10.0.0.0/24"])
    leaf.child_count = 2
    html = TreeWriter(None, can_create=False).write([leaf], 3, ("a", "b"))
    toggle = html.split('class="toggle" href="')[1].split('"')[0]
    assert parse(toggle) == {"open": [f"a,b,{leaf.pool.pool_id}"]}


def test_a_free_range_names_its_size_and_the_block_it_offers():
    parent = pool(1, allocation_min_netmask_length=12, allocation_max_netmask_length=16)
    (free,) = free_ranges([IPNetwork("10.0.0.0/8")], [IPNetwork("10.0.0.0/10")])
    html = tree_items([FreeBlock(free, parent)], set(), True, 2)
    assert '<code class="range">10.64.0.0 - 10.255.255.255</code> free' in html
    assert '<span class="free-size">3 \N{MULTIPLICATION SIGN} /10</span>' in html
    assert 'data-range="10.64.0.0-10.255.255.255"' in html
    assert "create a child pool here" in html
    # The largest aligned block, 10.128.0.0/9, cut to the pool's minimum netmask length.
    assert "(10.128.0.0/12)" in html
    assert parse(html.split('href="')[1].split('"')[0])["cidr"] == ["10.128.0.0/12"]
    assert "create-here" not in tree_items([FreeBlock(free, parent)])


def test_a_free_range_that_is_one_cidr_is_named_by_it():
    parent = pool(1, allocation_min_netmask_length=8, allocation_max_netmask_length=24)
    (free,) = free_ranges([IPNetwork("10.0.0.0/16")], [IPNetwork("10.0.0.0/17")])
    html = tree_items([FreeBlock(free, parent)], set(), True, 2)
    assert '<span class="free-size">10.0.128.0/17</span>' in html
    assert "create a child pool here</a>" in html  # the whole range: no block to name


def test_a_row_has_the_full_pool_id_with_a_copy_button_and_no_toggle_without_children():
    leaf = node(7, cidrs=["10.0.0.0/24"])
    html = TreeWriter(set(), can_create=True).write([leaf], 1, ())
    pool_id = leaf.pool.pool_id
    assert f'<code>{pool_id}</code><button type="button" class="copy" data-copy="{pool_id}"' in html
    assert 'class="toggle"' not in html
    assert "aria-expanded" not in html


def test_address_map_blocks_link_and_escape():
    space_map = addressmap.layout(
        [IPNetwork("10.0.0.0/24")],
        [
            addressmap.Block(IPNetwork("10.0.0.0/25"), "pool", "<i>", "/pools/p/?a=1&b=2"),
            addressmap.Block(IPNetwork("10.0.0.128/25"), "free", "free", ""),
        ],
    )
    svg = address_map_blocks(space_map)
    assert '<a href="/pools/p/?a=1&amp;b=2" class="pool">' in svg
    assert "<i>" not in svg
    assert "&lt;i&gt;" in svg
    assert '<g class="free"><title>10.0.0.128/25 · free</title>' in svg
    assert '<text class="section" x="0" y="14.0">10.0.0.0/24</text>' in svg
