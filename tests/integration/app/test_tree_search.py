"""The tree's search as an engineer writes it: an address, a CIDR, ``key=value``, a tag key,
and any text at all; with its SQL budget on either database, and the pages around the tree
that count pools or say when they were read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from netaddr import IPNetwork

from pools import search, selectors
from pools.models import IpamPool, IpamPoolCidr, IpamScope, PoolTag, State
from tests.integration.app.conftest import pool_named
from tests.integration.app.tree_support import Tree, get_tree
from tests.treedata import build_tree


def search_page(client, scope: IpamScope, query: str) -> Tree:
    return get_tree(client, reverse("scope_detail", args=[scope.scope_id]) + "?" + _q(query))


def _q(query: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"q": query})


def matched(page: Tree) -> set[str]:
    return {i.pool for i in page.items() if "matched" in i.attrs.get("class", "").split()}


def names(*pool_names: str) -> set[str]:
    return {pool_named(name).pool_id for name in pool_names}


def containing(scope: IpamScope, network: IPNetwork) -> set[str]:
    """The pools of ``scope`` whose live CIDRs overlap ``network``, computed here."""
    return {
        c.pool.pool_id
        for c in IpamPoolCidr.objects.live().filter(pool__scope=scope).select_related("pool")
        if c.cidr is not None
        and c.cidr.version == network.version
        and c.cidr.first <= network.last
        and network.first <= c.cidr.last
    }


def tag(pool: IpamPool, key: str, value: str) -> None:
    PoolTag.objects.create(pool=pool, key=key, value=value)


# --- what a query means ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("10.4.1.5", "address"),
        (" fd00:ec2::1 ", "address"),
        ("10.4.0.0/16", "cidr"),
        ("10.4.1.5/16", "cidr"),  # host bits: the network they are in
        ("fd00::/8", "cidr"),
        ("team=netops", "tag"),
        ("team=", "tag"),
        ("=netops", "text"),
        ("10.4.", "text"),
        ("10.4.1", "text"),  # not an address: a start of one
        ("10.0.0.0/99", "text"),
        ("\uff11\uff10.0.0.1", "text"),  # non-ASCII digits are no address
        ("10.0.0.1/\uff11\uff16", "text"),
        ("prod", "text"),
    ],
)
def test_parse(text, kind):
    assert search.parse(text).kind == kind


def test_a_tag_query_keeps_what_follows_the_first_equals_sign():
    query = search.parse(" url = https://x/?a=b ")
    assert (query.key, query.value) == ("url", "https://x/?a=b")


# --- addresses and CIDRs -----------------------------------------------------------------------


@pytest.mark.parametrize("address", ["10.0.1.5", "10.20.0.1", "10.47.255.255", "fd00:ec2::1"])
def test_an_address_finds_the_pools_that_contain_it(admin_client, private_scope, address):
    page = search_page(admin_client, private_scope, address)
    expected = containing(private_scope, IPNetwork(address))
    assert expected
    assert matched(page) == expected
    for pool_id in expected:
        assert page.item(pool_id).text.count(" contains") == 1  # says which CIDR does


def test_an_address_in_no_pool_finds_nothing(admin_client, private_scope):
    html = admin_client.get(
        reverse("scope_detail", args=[private_scope.scope_id]) + "?" + _q("192.168.1.1")
    ).content.decode()
    assert "No pool matches" in html


def test_a_cidr_finds_the_pools_that_overlap_it_and_says_how(admin_client, private_scope):
    east, prod = pool_named("us-east-1"), pool_named("us-east-1-prod")
    (east_cidr,) = [c.cidr for c in east.cidrs.all()]
    page = search_page(admin_client, private_scope, str(east_cidr))
    overlapping = containing(private_scope, east_cidr)
    assert matched(page) == overlapping
    assert {pool_named("corporate").pool_id, east.pool_id, prod.pool_id} <= overlapping
    assert f"{east_cidr} contains it" in page.item(east.pool_id).text
    assert "10.0.0.0/8 contains it" in page.item(pool_named("corporate").pool_id).text
    assert "inside it" in page.item(prod.pool_id).text


def test_a_cidr_with_host_bits_searches_its_network(admin_client, private_scope):
    page = search_page(admin_client, private_scope, "10.0.1.5/14")
    assert matched(page) == containing(private_scope, IPNetwork("10.0.0.0/14"))


def test_a_cidr_of_another_family_or_outside_every_pool_finds_nothing(admin_client, private_scope):
    assert not matched(search_page(admin_client, private_scope, "2600::/16"))
    assert not matched(search_page(admin_client, private_scope, "172.16.0.0/12"))


@pytest.mark.parametrize(
    "change",
    [{"missing_since": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, {"state": "deprovisioned"}],
)
def test_a_deprovisioned_or_missing_cidr_is_not_searched(admin_client, private_scope, change):
    prod = pool_named("us-east-1-prod")
    assert prod.pool_id in matched(search_page(admin_client, private_scope, "10.0.1.5"))
    IpamPoolCidr.objects.filter(pool=prod).update(**change)
    assert prod.pool_id not in matched(search_page(admin_client, private_scope, "10.0.1.5"))
    assert prod.pool_id not in matched(search_page(admin_client, private_scope, "10.0.0.0/16"))


# --- tags --------------------------------------------------------------------------------------


def test_key_value_finds_pools_by_tag_as_the_pool_page_writes_them(admin_client, private_scope):
    dev, prod = pool_named("us-east-1-dev"), pool_named("us-west-2-prod")
    tag(dev, "team", "netops")
    tag(prod, "team", "NetOps")
    tag(pool_named("corporate"), "team", "platform")
    tag(pool_named("eu-west-1"), "owner", "netops")

    assert matched(search_page(admin_client, private_scope, "team=netops")) == {
        dev.pool_id,
        prod.pool_id,  # the value in any case
    }
    assert matched(search_page(admin_client, private_scope, "team = netops")) == {
        dev.pool_id,
        prod.pool_id,
    }
    assert len(matched(search_page(admin_client, private_scope, "team="))) == 3
    assert matched(search_page(admin_client, private_scope, "Team=netops")) == set()  # keys: exact
    assert matched(search_page(admin_client, private_scope, "Name=ula-v6")) == names("ula-v6")


def test_a_word_finds_tag_keys_and_values(admin_client, private_scope):
    tag(pool_named("us-east-1-dev"), "cost-center", "cc-1234")
    tag(pool_named("eu-west-1"), "owner", "cost-center-team")
    found = matched(search_page(admin_client, private_scope, "cost-center"))
    assert found == names("us-east-1-dev", "eu-west-1")
    assert matched(search_page(admin_client, private_scope, "CC-12")) == names("us-east-1-dev")


def test_search_is_confined_to_the_scope_and_to_live_pools(admin_client, private_scope):
    other = build_tree(20, label="elsewhere")
    assert not matched(search_page(admin_client, private_scope, "elsewhere"))
    assert matched(search_page(admin_client, other.scope, "10.0.0.1"))
    dev = pool_named("us-east-1-dev")
    IpamPool.objects.filter(pk=dev.pk).update(missing_since=timezone.now())
    assert dev.pool_id not in matched(search_page(admin_client, private_scope, "dev"))


# --- any text ----------------------------------------------------------------------------------


HOSTILE = [
    "%",
    "_",
    "\\",
    "'; DROP TABLE pools_ipampool; --",
    "<script>alert(1)</script>",
    "\x01\x1f\x7f",
    "²",
    "\uff11\uff10.\uff10.\uff10.\uff11",  # fullwidth digits
    "9" * 5000,
    "x" * 10_000,
    "10.0.0.0/" + "9" * 5000,
    "::/0",
    "0.0.0.0/0",
    "=",
    "==",
    "a=b=c",
    "fe80::1%eth0",
    "10.0.0.0/8/8",
    "\u202e\ufeff",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_search_takes_any_text(admin_client, private_scope, text):
    response = admin_client.get(reverse("scope_detail", args=[private_scope.scope_id]), {"q": text})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_the_widest_cidr_finds_every_pool_of_its_family(admin_client, private_scope):
    page = search_page(admin_client, private_scope, "0.0.0.0/0")
    assert matched(page) == {
        p.pool_id
        for p in IpamPool.objects.filter(scope=private_scope, address_family="ipv4")
        if p.cidrs.exists()
    }


# --- the SQL budget, on SQLite and PostgreSQL ----------------------------------------------------

# The page's own queries (session, user, scope, last read), the matches (at most three
# queries), the matches with their ancestors (one recursive query), CIDRs, use, child counts.
SEARCH_QUERIES = 11


@pytest.fixture(params=[30, 300], ids=lambda n: f"{n}-pools")
def big(request, db):
    return build_tree(request.param, wide=request.param // 3, label="size")


@pytest.mark.parametrize(
    "query", ["chain-5", "10.200.0.1", "10.192.0.0/12", "cost-center=cc-00007", "team", "10.1"]
)
def test_search_queries_do_not_grow_with_pools(
    admin_client, big, query, django_assert_max_num_queries
):
    with django_assert_max_num_queries(SEARCH_QUERIES):
        page = search_page(admin_client, big.scope, query)
    assert matched(page)


def test_ancestors_come_from_one_recursive_query(db):
    deep = build_tree(40, label="deep")
    assert deep.deepest is not None
    found = set(IpamPool.objects.filter(id__in=search.with_ancestors({deep.deepest.pk})))
    chain, pool = set(), deep.deepest
    while pool is not None:
        chain.add(pool)
        pool = pool.source_pool
    assert found == chain
    assert len(found) == 10
    assert search.with_ancestors(set()) == []


def test_postgresql_has_the_trigram_indexes(db):
    if connection.vendor != "postgresql":
        pytest.skip("trigram indexes are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'pools_%%_trgm'")
        found = {row[0] for row in cursor.fetchall()}
    assert found == {
        "pools_pool_name_trgm",
        "pools_pool_description_trgm",
        "pools_pool_pool_id_trgm",
        "pools_tag_key_trgm",
        "pools_tag_value_trgm",
    }


# --- counts and reading times around the tree ----------------------------------------------------


def test_the_home_page_counts_the_pools_the_tree_shows(admin_client, private_scope):
    before = admin_client.get(reverse("home")).content.decode()
    count = IpamPool.objects.filter(scope=private_scope).count()
    assert f"<td>{count}</td>" in before
    IpamPool.objects.filter(pk=pool_named("us-east-1-dev").pk).update(
        state=State.DELETE_IN_PROGRESS
    )
    IpamPool.objects.filter(pk=pool_named("eu-west-1-dev").pk).update(missing_since=timezone.now())
    after = admin_client.get(reverse("home")).content.decode()
    assert f"<td>{count - 2}</td>" in after


def test_the_home_page_counts_in_one_query_whatever_the_pools(
    admin_client, db, django_assert_max_num_queries
):
    build_tree(30, label="one")
    build_tree(300, label="two")
    with django_assert_max_num_queries(5):  # session, user, IPAMs, scopes with their counts
        response = admin_client.get(reverse("home"))
    assert "<td>300</td>" in response.content.decode()


def test_the_scope_page_says_when_it_was_last_read(admin_client, private_scope):
    url = reverse("scope_detail", args=[private_scope.scope_id])
    html = admin_client.get(url).content.decode()
    assert 'id="last-read"' in html
    assert "Read from AWS" in html
    newest = timezone.now() - dt.timedelta(hours=3)
    IpamPool.objects.filter(scope=private_scope).update(last_synced_at=newest - dt.timedelta(1))
    IpamPool.objects.filter(pk=pool_named("ula-v6").pk).update(last_synced_at=newest)
    IpamScope.objects.filter(pk=private_scope.pk).update(last_synced_at=newest - dt.timedelta(2))
    assert selectors.scope_last_read(IpamScope.objects.get(pk=private_scope.pk)) == newest
    assert "3\xa0hours ago" in admin_client.get(url).content.decode()


def test_a_scope_never_read_says_so(admin_client, db):
    tree = build_tree(5, label="unread")
    html = admin_client.get(reverse("scope_detail", args=[tree.scope.scope_id])).content.decode()
    assert "Not read from AWS yet." in html
