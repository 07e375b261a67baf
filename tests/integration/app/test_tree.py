"""The scope's pool tree, its lazy children, free space, search, address maps and SQL budget."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from pools import tree
from pools.models import IpamPool, IpamPoolAllocation, IpamScope
from tests.integration.app.conftest import pool_named
from tests.integration.app.tree_support import HX, get_tree, parse
from tests.treedata import build_tree


def scope_url(scope: IpamScope, query: str = "") -> str:
    return reverse("scope_detail", args=[scope.scope_id]) + query


def children_url(pool: IpamPool, query: str = "") -> str:
    return reverse("tree_children", args=[pool.scope.scope_id, pool.pool_id]) + query


def query_of(href: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


@pytest.fixture
def viewer(db, django_user_model) -> Client:
    """A signed-in user who may read but not create pools."""
    client = Client()
    user = django_user_model.objects.create_user("viewer", password="x")
    user.groups.add(Group.objects.get(name="IPAM viewers"))
    client.force_login(user)
    return client


# --- the scope page ----------------------------------------------------------------------------


def test_scope_page_lists_top_level_pools_with_their_facts(admin_client, private_scope):
    page = get_tree(admin_client, scope_url(private_scope))
    corporate, ula = pool_named("corporate"), pool_named("ula-v6")

    assert page.pools() == [corporate.pool_id, ula.pool_id]  # address order, IPv4 first
    row = page.item(corporate.pool_id)
    assert row.text.split() == [
        "depth",
        "1/10",
        "corporate",
        corporate.pool_id,
        "no",
        "locale",
        "IPv4",
        "create-complete",
        "10.0.0.0/8",
        "18.8%",  # three /12 regional pools in a /8
        "allocated",
        "3",
        "children",
        "map",
    ]
    assert row.links["name"] == reverse("pool_detail", args=[corporate.pool_id])
    assert row.links["maplink"] == reverse("pool_map", args=[corporate.pool_id])
    ula_row = page.item(ula.pool_id).text
    assert "IPv6" in ula_row
    assert "fd00:ec2::/32" in ula_row
    assert "0% allocated" in ula_row
    assert "0 children" in ula_row


def test_a_pool_without_a_name_shows_its_description_or_id(admin_client, private_scope):
    corporate = pool_named("corporate")
    IpamPool.objects.filter(pk=corporate.pk).update(name="")
    assert (
        "All private IPv4 space"
        in get_tree(admin_client, scope_url(private_scope)).item(corporate.pool_id).text
    )
    IpamPool.objects.filter(pk=corporate.pk).update(description="")
    label = get_tree(admin_client, scope_url(private_scope)).item(corporate.pool_id).text
    assert label.split()[2:4] == [corporate.pool_id, corporate.pool_id]


def test_the_tree_is_an_aria_tree(admin_client, private_scope):
    corporate, east = pool_named("corporate"), pool_named("us-east-1")
    page = get_tree(admin_client, scope_url(private_scope, f"?open={corporate.pool_id}"))
    assert page.attrs is not None
    assert page.attrs["aria-label"].startswith("Pools of ")
    top = page.item(corporate.pool_id)
    assert top.attrs["role"] == "treeitem"
    assert top.attrs["aria-level"] == "1"
    assert top.attrs["aria-expanded"] == "true"
    assert top.group_hidden is False
    child = page.item(east.pool_id)
    assert child.attrs["aria-level"] == "2"
    assert child.attrs["aria-expanded"] == "false"
    assert child.group_hidden is True
    assert all(item.attrs["aria-level"] == "2" for item in top.children)
    # One item is reachable with Tab (the script sets it); every item can take focus.
    assert all(item.attrs["tabindex"] == "-1" for item in page.items())


def test_open_nodes_from_the_url_show_their_children_and_free_space(admin_client, private_scope):
    corporate, east = pool_named("corporate"), pool_named("us-east-1")
    page = get_tree(
        admin_client, scope_url(private_scope, f"?open={corporate.pool_id},{east.pool_id}")
    )
    top = page.item(corporate.pool_id)
    assert [c.pool or c.range for c in top.children] == [
        east.pool_id,
        pool_named("us-west-2").pool_id,
        pool_named("eu-west-1").pool_id,
        "10.48.0.0-10.255.255.255",  # one range, not three aligned blocks
    ]
    assert [c.pool or c.range for c in page.item(east.pool_id).children] == [
        pool_named("us-east-1-prod").pool_id,
        pool_named("us-east-1-dev").pool_id,
        "10.8.0.0-10.15.255.255",
    ]
    assert pool_named("us-east-1-prod").pool_id in page.pools()
    assert pool_named("us-west-2-prod").pool_id not in page.pools()


def test_an_open_node_under_a_closed_one_stays_hidden(admin_client, private_scope):
    east = pool_named("us-east-1")
    page = get_tree(admin_client, scope_url(private_scope, f"?open={east.pool_id}"))
    assert page.pools() == [pool_named("corporate").pool_id, pool_named("ula-v6").pool_id]
    assert page.item(pool_named("corporate").pool_id).attrs["aria-expanded"] == "false"


def test_a_url_opening_too_many_pools_opens_the_first_ones(
    admin_client, private_scope, monkeypatch
):
    monkeypatch.setattr(tree, "MAX_OPEN", 2)
    corporate, east = pool_named("corporate"), pool_named("us-east-1")
    prod = pool_named("us-east-1-prod").pool_id
    wanted = [corporate.pool_id, east.pool_id]
    after = ",".join([*wanted, *(f"ipam-pool-zz{i}" for i in range(5))])
    assert prod in get_tree(admin_client, scope_url(private_scope, f"?open={after}")).pools()
    before = ",".join([*wanted, *(f"ipam-pool-00{i}" for i in range(5))])
    assert prod not in get_tree(admin_client, scope_url(private_scope, f"?open={before}")).pools()


def test_toggle_links_open_and_close_without_javascript(admin_client, private_scope):
    corporate, east = pool_named("corporate"), pool_named("us-east-1")
    page = get_tree(admin_client, scope_url(private_scope, f"?open={corporate.pool_id}"))
    assert page.item(corporate.pool_id).links["toggle"] == "?"
    assert query_of(page.item(east.pool_id).links["toggle"]) == {
        "open": ",".join(sorted([corporate.pool_id, east.pool_id]))
    }


def test_the_page_tells_the_script_where_children_are(admin_client, private_scope):
    html = admin_client.get(scope_url(private_scope)).content.decode()
    assert f'data-children="/scopes/{private_scope.scope_id}/tree/__pool__/"' in html
    assert "js/tree.js" in html


def test_the_scope_page_links_to_a_new_pool_in_the_scope(admin_client, viewer, private_scope):
    html = admin_client.get(scope_url(private_scope)).content.decode()
    assert f'href="/pools/new/?scope={private_scope.scope_id}"' in html
    assert "/pools/new/" not in viewer.get(scope_url(private_scope)).content.decode()


# --- expanding one node ------------------------------------------------------------------------


def test_children_endpoint_returns_children_and_free_blocks(admin_client, private_scope):
    corporate = pool_named("corporate")
    response = admin_client.get(children_url(corporate, f"?open={corporate.pool_id}&level=2"), **HX)
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    items = parse(response.content).roots
    assert [(i.pool or i.range, i.attrs["aria-level"]) for i in items] == [
        (pool_named("us-east-1").pool_id, "2"),
        (pool_named("us-west-2").pool_id, "2"),
        (pool_named("eu-west-1").pool_id, "2"),
        ("10.48.0.0-10.255.255.255", "2"),
    ]
    assert "10.48.0.0 - 10.255.255.255 free 13 \N{MULTIPLICATION SIGN} /12" in items[3].text
    assert "10.16.0.0/12" in items[1].text
    assert "50% allocated" in items[1].text  # two /14 in a /12
    # Their toggles keep the tree's open set.
    assert query_of(items[0].links["toggle"])["open"] == ",".join(
        sorted([corporate.pool_id, items[0].pool])
    )


def test_a_free_range_offers_one_child_pool_prefilled(admin_client, private_scope):
    # The range's largest aligned block is 10.128.0.0/9, wider than the source's minimum
    # netmask (/12): its first /12 is proposed.
    free, proposed = "10.48.0.0-10.255.255.255", "10.128.0.0/12"
    corporate = pool_named("corporate")
    items = parse(admin_client.get(children_url(corporate), **HX).content).roots
    block = next(item for item in items if item.range == free)
    href = block.links["create-here"]
    assert urlsplit(href).path == reverse("pool_new")
    assert query_of(href) == {"source": corporate.pool_id, "cidr": proposed}

    form = admin_client.get(href).context["form"]
    assert form.initial["source_pool"] == corporate
    assert form.initial["scope"] == private_scope
    assert form.initial["first_cidr"] == proposed
    assert form.initial["locale"] == corporate.locale
    html = admin_client.get(href).content.decode()
    assert re.search(rf'name="first_cidr"[^>]*value="{re.escape(proposed)}"', html) or re.search(
        rf'value="{re.escape(proposed)}"[^>]*name="first_cidr"', html
    )


def test_free_blocks_between_allocations_are_not_offered_to_who_cannot_create(
    admin_client, viewer, private_scope
):
    prod = pool_named("us-east-1-prod")  # 10.0.0.0/14 with two /24 VPC allocations
    items = parse(admin_client.get(children_url(prod), **HX).content).roots
    assert [item.range for item in items] == ["10.0.2.0-10.3.255.255"]
    assert all(item.is_free for item in items)
    assert all("create-here" in item.links for item in items)
    assert not any(
        "create-here" in item.links
        for item in parse(viewer.get(children_url(prod), **HX).content).roots
    )


def test_no_child_pool_is_offered_below_depth_ten_or_in_too_small_blocks(admin_client):
    deep = build_tree(30, label="deep")
    assert deep.deepest is not None
    assert deep.deepest.depth == 10
    items = parse(admin_client.get(children_url(deep.deepest), **HX).content).roots
    assert items
    assert all(item.is_free and "create-here" not in item.links for item in items)

    parent = deep.by_depth[9][-1]
    IpamPool.objects.filter(pk=parent.pk).update(allocation_max_netmask_length=parent.depth)
    items = parse(admin_client.get(children_url(parent), **HX).content).roots
    assert [item for item in items if item.is_free]
    assert not any("create-here" in item.links for item in items)


def test_children_levels_follow_the_tree_or_the_depth(admin_client, private_scope):
    east = pool_named("us-east-1")
    items = parse(admin_client.get(children_url(east), **HX).content).roots
    assert {item.attrs["aria-level"] for item in items} == {"3"}
    items = parse(admin_client.get(children_url(east, "?level=5"), **HX).content).roots
    assert {item.attrs["aria-level"] for item in items} == {"5"}


def test_ipv6_free_space_offers_a_block_within_the_pools_netmasks(admin_client, private_scope):
    ula = pool_named("ula-v6")  # fd00:ec2::/32, allocations /48 to /64
    (free,) = parse(admin_client.get(children_url(ula), **HX).content).roots
    assert free.range == "fd00:ec2::-fd00:ec2:ffff:ffff:ffff:ffff:ffff:ffff"
    assert "fd00:ec2::/32" in free.text  # a range that is one CIDR is named by it
    assert query_of(free.links["create-here"]) == {
        "source": ula.pool_id,
        "cidr": "fd00:ec2::/48",
    }


def test_children_endpoint_is_404_for_a_pool_of_another_scope(admin_client, private_scope):
    other = build_tree(5)
    url = reverse("tree_children", args=[private_scope.scope_id, other.pools[0].pool_id])
    assert admin_client.get(url, **HX).status_code == 404


# --- expand all --------------------------------------------------------------------------------


def test_expand_all_opens_every_pool(admin_client, private_scope):
    html = admin_client.get(scope_url(private_scope, "?expand=all")).content.decode()
    page = parse(html)
    assert len(page.pools()) == IpamPool.objects.filter(scope=private_scope).count() == 11
    parents = {p.source_pool_id for p in IpamPool.objects.filter(scope=private_scope)}
    for item in page.items():
        if item.pool:
            has_children = IpamPool.objects.get(pool_id=item.pool).id in parents
            assert item.attrs.get("aria-expanded") == ("true" if has_children else None)
    assert 'class="warning"' not in html


def test_expand_all_stops_at_the_cap_and_says_so(admin_client, private_scope, monkeypatch):
    monkeypatch.setattr(tree, "EXPAND_ALL_CAP", 6)
    response = admin_client.get(scope_url(private_scope, "?expand=all"))
    page = parse(response.content)
    shown = page.pools()
    # Top levels first, and a pool opens only with all its children.
    assert len(shown) == 5
    assert pool_named("us-east-1").pool_id in shown
    assert pool_named("us-east-1-prod").pool_id not in shown
    assert page.item(pool_named("us-east-1").pool_id).attrs["aria-expanded"] == "false"
    assert re.search(r"Showing 5 of 11 pools", response.content.decode())
    # Closed pools open from there: toggles lead to the path down to them.
    east = page.item(pool_named("us-east-1").pool_id)
    assert query_of(east.links["toggle"])["open"] == ",".join(
        sorted([pool_named("corporate").pool_id, east.pool])
    )


# --- search ------------------------------------------------------------------------------------


def test_search_shows_matches_with_their_ancestors(admin_client, private_scope):
    page = get_tree(admin_client, scope_url(private_scope, "?q=west-2-dev"))
    match = pool_named("us-west-2-dev")
    assert page.pools() == [
        pool_named("corporate").pool_id,
        pool_named("us-west-2").pool_id,
        match.pool_id,
    ]
    assert [i.pool for i in page.items() if "matched" in i.attrs.get("class", "")] == [
        match.pool_id
    ]
    assert page.free() == []  # only the paths to the matches


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("10.16.", {"us-west-2", "us-west-2-prod"}),  # CIDR prefix
        ("EU-WEST-1 PROD", {"eu-west-1-prod"}),  # description, any case
        ("ula-v6", {"ula-v6"}),  # Name tag
    ],
)
def test_search_by_cidr_description_or_name(admin_client, private_scope, query, names):
    page = get_tree(admin_client, scope_url(private_scope, f"?q={query}"))
    matched = {i.pool for i in page.items() if "matched" in i.attrs.get("class", "")}
    assert matched == {pool_named(name).pool_id for name in names}


def test_search_by_pool_id_and_tag_value(admin_client, private_scope):
    dev = pool_named("eu-west-1-dev")
    page = get_tree(admin_client, scope_url(private_scope, f"?q={dev.pool_id}"))
    assert [i.pool for i in page.items() if "matched" in i.attrs.get("class", "")] == [dev.pool_id]
    big = build_tree(30, label="tagged")
    page = get_tree(admin_client, scope_url(big.scope, "?q=team-3"))
    matched = {i.pool for i in page.items() if "matched" in i.attrs.get("class", "")}
    assert matched == {p.pool_id for i, p in enumerate(big.pools) if i % 7 == 3}


def test_search_counts_and_caps_matches(admin_client, private_scope, monkeypatch):
    html = admin_client.get(scope_url(private_scope, "?q=nothing-like-this")).content.decode()
    assert "No pool matches" in html
    assert 'role="tree"' not in html
    monkeypatch.setattr(tree, "SEARCH_CAP", 2)
    response = admin_client.get(scope_url(private_scope, "?q=us-"))
    assert "More than 2 pools match" in response.content.decode()
    page = parse(response.content)
    assert len([i for i in page.items() if "matched" in i.attrs.get("class", "")]) == 2


def test_search_takes_any_text(admin_client, private_scope):
    for query in ("%", "_", "<b>x</b>", "10.0.0.0/8'"):
        response = admin_client.get(scope_url(private_scope), {"q": query})
        assert response.status_code == 200
        assert "<b>x</b>" not in response.content.decode()


def test_search_from_the_box_swaps_only_the_tree(admin_client, private_scope):
    response = admin_client.get(
        scope_url(private_scope, "?q=prod"), HTTP_HX_TARGET="tree-region", **HX
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="tree-region">')
    assert "<html" not in html
    assert "3 pools match" in html


# --- address maps ------------------------------------------------------------------------------


def svg_links(html: str) -> list[tuple[str, str]]:
    """(class, href) of each block of the page's address map."""
    svg = html[html.index("<svg") : html.index("</svg>")]
    return [
        (kind, href.replace("&amp;", "&"))
        for href, kind in re.findall(r'<a href="([^"]*)" class="([a-z]+)">', svg)
    ]


def test_pool_page_draws_children_and_free_space(admin_client, private_scope):
    corporate = pool_named("corporate")
    html = admin_client.get(reverse("pool_detail", args=[corporate.pool_id])).content.decode()
    links = svg_links(html)
    assert [href for kind, href in links if kind == "pool"] == [
        reverse("pool_detail", args=[pool_named(name).pool_id])
        for name in ("us-east-1", "us-west-2", "eu-west-1")
    ]
    free = [query_of(href) for kind, href in links if kind == "free"]
    assert {f["cidr"] for f in free} == {"10.128.0.0/12"}  # one range, its largest block
    assert all(f["source"] == corporate.pool_id for f in free)
    assert 'role="img"' in html


def test_map_page_links_allocations_and_labels_what_fits(admin_client, private_scope):
    prod = pool_named("us-east-1-prod")
    response = admin_client.get(reverse("pool_map", args=[prod.pool_id]))
    assert response.status_code == 200
    html = response.content.decode()
    allocations = IpamPoolAllocation.objects.filter(pool=prod).order_by("cidr")
    page = reverse("pool_detail", args=[prod.pool_id])
    assert [href for kind, href in svg_links(html) if kind == "allocation"] == [
        f"{page}#allocation-{a.allocation_id}" for a in allocations
    ]
    assert "/admin/" not in html[html.index("<svg") :]
    assert f'href="{reverse("pool_detail", args=[prod.pool_id])}"' in html  # breadcrumbs
    assert "<title>10.0.0.0/24 · web VPC</title>" in html


def test_map_of_an_ipv6_pool(admin_client, private_scope):
    ula = pool_named("ula-v6")
    html = admin_client.get(reverse("pool_map", args=[ula.pool_id])).content.decode()
    assert "fd00:ec2::/32" in html
    assert [query_of(href)["cidr"] for _, href in svg_links(html)] == ["fd00:ec2::/48"]


def test_map_of_a_pool_without_cidr(admin_client, sim, private_scope):
    created = sim.call("CreateIpamPool", IpamScopeId=private_scope.scope_id, AddressFamily="ipv4")
    from pools.sync import sync_all

    sync_all()
    pool_id = created["IpamPool"]["IpamPoolId"]
    html = admin_client.get(reverse("pool_map", args=[pool_id])).content.decode()
    assert "No provisioned CIDR to draw." in html
    assert "<svg" not in html


# --- admin and access --------------------------------------------------------------------------


def test_admin_links_a_pool_to_its_place_in_the_tree(admin_client, private_scope):
    prod = pool_named("us-east-1-prod")
    html = admin_client.get(reverse("admin:pools_ipampool_change", args=[prod.pk])).content.decode()
    href = re.search(r'href="([^"]*#node-[^"]*)"', html).group(1).replace("&amp;", "&")
    path, _, fragment = href.partition("#")
    assert fragment == f"node-{prod.pool_id}"
    assert query_of(path)["open"] == ",".join(
        sorted([pool_named("corporate").pool_id, pool_named("us-east-1").pool_id])
    )
    page = get_tree(admin_client, path)
    assert page.item(prod.pool_id).attrs["id"] == fragment


@pytest.mark.parametrize("name", ["scope", "children", "map"])
def test_the_tree_needs_a_login(client, private_scope, name):
    corporate = pool_named("corporate")
    url = {
        "scope": scope_url(private_scope),
        "children": children_url(corporate),
        "map": reverse("pool_map", args=[corporate.pool_id]),
    }[name]
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- SQL budget --------------------------------------------------------------------------------

SIZES = [30, 300]
# The same budget at both sizes. Every page: the session and the user. Then the tree's own
# queries: the pools (top levels, children of the open pools, or all links for a search or
# "expand all"), and over the pools shown, their CIDRs, their use, their child counts and the
# allocations of the open pools with the reservation ledger (what of their space is reserved).
QUERIES = {
    "scope": 8,  # + scope, when it was last read, top-level pools, CIDRs, use, child counts
    "open": 11,  # + children of the open pools, allocations of the open pools, the ledger
    "children": 9,  # pool, its children, CIDRs, use, allocations, the ledger, child counts
    # scope, last read, the matches by name, ID or description and by tag (or by CIDR), the
    # matches with their ancestors (one recursive query), CIDRs, use, child counts
    "search": 10,
    # scope, last read, a level of pools at a time (with their child counts; ten levels at
    # most), the count of pools, CIDRs, use, allocations, the ledger, child counts
    "expand_all": 20,
    "map": 7,  # pool with scope and source, CIDRs, allocations, the ledger, child pools' names
}


@pytest.fixture(params=SIZES, ids=lambda n: f"{n}-pools")
def big(request, db):
    return build_tree(request.param, wide=request.param // 3, label="size")


def _open_path(big) -> str:
    """Open the last root and its first descendants down to depth 4."""
    root = big.by_depth[1][-1]
    chain, node = [root.pool_id], root
    for _ in range(3):
        node = next(p for p in big.pools if p.source_pool_id == node.id)
        chain.append(node.pool_id)
    return ",".join(chain)


def test_scope_page_queries_do_not_grow_with_pools(
    admin_client, big, django_assert_max_num_queries
):
    with django_assert_max_num_queries(QUERIES["scope"]):
        page = get_tree(admin_client, scope_url(big.scope))
    assert len(page.pools()) == 4


def test_open_nodes_queries_do_not_grow_with_pools(
    admin_client, big, django_assert_max_num_queries
):
    with django_assert_max_num_queries(QUERIES["open"]):
        page = get_tree(admin_client, scope_url(big.scope, f"?open={_open_path(big)}"))
    assert len(page.pools()) > 4


def test_children_queries_do_not_grow_with_children(
    admin_client, big, django_assert_max_num_queries
):
    assert big.wide is not None
    with django_assert_max_num_queries(QUERIES["children"]):
        items = parse(admin_client.get(children_url(big.wide), **HX).content).roots
    assert len([i for i in items if i.pool]) == len(big.children(big.wide))


def test_search_queries_do_not_grow_with_pools(admin_client, big, django_assert_max_num_queries):
    with django_assert_max_num_queries(QUERIES["search"]):
        page = get_tree(admin_client, scope_url(big.scope, "?q=team-1"))
    assert page.pools()


def test_expand_all_queries_do_not_grow_with_pools(
    admin_client, big, django_assert_max_num_queries
):
    with django_assert_max_num_queries(QUERIES["expand_all"]):
        page = get_tree(admin_client, scope_url(big.scope, "?expand=all"))
    assert len(page.pools()) == len(big.pools)


def test_map_queries_do_not_grow_with_children(admin_client, big, django_assert_max_num_queries):
    assert big.wide is not None
    with django_assert_max_num_queries(QUERIES["map"]):
        response = admin_client.get(reverse("pool_map", args=[big.wide.pool_id]))
    assert len([k for k, _ in svg_links(response.content.decode()) if k == "pool"]) >= len(
        big.children(big.wide)
    )
