"""The pool list and a pool through the API: each filter, hostile filter values, the cursor's
pages, ETags, the SQL budget as pools grow, and who may read."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pools.models import IpamPool, IpamScope, State
from tests.integration.api.conftest import Api, problem
from tests.treedata import build_tree

POOLS = "/api/pools/"


def named(*names: str) -> set[str]:
    return set(IpamPool.objects.filter(name__in=names).values_list("pool_id", flat=True))


def listed(api: Api, **params: Any) -> set[str]:
    """The pool ids of every page of the list."""
    return {p["pool_id"] for p in every_page(api, POOLS, params)}


def every_page(api: Api, url: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    answer = api.get(url, params or {})
    assert answer.status_code == 200, answer.content[:500]
    rows = list(answer.json()["results"])
    following = answer.json()["next"]
    while following:
        answer = api.get(following)
        assert answer.status_code == 200, answer.content[:500]
        rows += answer.json()["results"]
        following = answer.json()["next"]
    return rows


# --- filters ---------------------------------------------------------------------------------


def test_the_list_has_every_live_pool(viewer):
    IpamPool.objects.filter(name="ula-v6").update(missing_since="2024-01-01T00:00:00Z")
    assert listed(viewer) == set(
        IpamPool.objects.exclude(name="ula-v6").values_list("pool_id", flat=True)
    )


def test_scope_and_ipam_filters(viewer, private_scope):
    other = build_tree(4, label="other")
    mine = set(IpamPool.objects.filter(scope=private_scope).values_list("pool_id", flat=True))
    assert listed(viewer, scope=private_scope.scope_id) == mine
    assert listed(viewer, ipam=private_scope.ipam.ipam_id) == mine
    assert listed(viewer, scope=other.scope.scope_id) == {p.pool_id for p in other.pools}
    assert listed(viewer, ipam=other.scope.ipam.ipam_id) == {p.pool_id for p in other.pools}
    assert listed(viewer, scope="ipam-scope-00000000000000000") == set()
    assert listed(viewer, scope="not an id!") == set()  # no id could be that: nothing


def test_source_pool_filter_gives_the_children(viewer):
    east = IpamPool.objects.get(name="us-east-1")
    assert listed(viewer, source_pool=east.pool_id) == named("us-east-1-prod", "us-east-1-dev")


def test_family_filter(viewer):
    assert listed(viewer, family="ipv6") == named("ula-v6")
    assert "ula-v6" not in {p["name"] for p in every_page(viewer, POOLS, {"family": "ipv4"})}


def test_locale_filter_and_none(viewer):
    west = named("us-west-2", "us-west-2-prod", "us-west-2-dev")
    assert listed(viewer, locale="us-west-2") == west
    assert listed(viewer, locale="none") == named("corporate", "ula-v6")
    assert listed(viewer, locale="NONE") == named("corporate", "ula-v6")


def test_state_filter_takes_several(viewer):
    IpamPool.objects.filter(name="us-east-1-dev").update(state=State.CREATE_FAILED)
    IpamPool.objects.filter(name="ula-v6").update(state=State.MODIFY_IN_PROGRESS)
    assert listed(viewer, state="create-failed") == named("us-east-1-dev")
    answer = viewer.get(POOLS, {"state": ["create-failed", "modify-in-progress"]})
    assert {p["pool_id"] for p in answer.json()["results"]} == named("us-east-1-dev", "ula-v6")


def test_depth_filters(viewer):
    top = named("corporate", "ula-v6")
    regional = named("us-east-1", "us-west-2", "eu-west-1")
    assert listed(viewer, depth=1) == top
    assert listed(viewer, depth=2) == regional
    assert listed(viewer, depth_max=2) == top | regional
    assert listed(viewer, depth_min=2, depth_max=2) == regional
    assert listed(viewer, depth_min=3) == set(
        IpamPool.objects.filter(depth=3).values_list("pool_id", flat=True)
    )


def test_tag_filter_by_value_in_any_case_and_by_key(viewer, sim):
    east = IpamPool.objects.get(name="us-east-1")
    built = build_tree(8, label="tags")
    teams = {p.pool_id for i, p in enumerate(built.pools) if i % 7 == 3}
    assert listed(viewer, tag="team=TEAM-3") == teams
    assert listed(viewer, tag="team=") == {p.pool_id for p in built.pools}
    assert listed(viewer, tag="Name=us-east-1") == {east.pool_id}
    assert listed(viewer, tag="nobody-has-this=") == set()


def test_contains_an_address_or_a_cidr(viewer):
    chain = named("corporate", "us-east-1", "us-east-1-dev")
    assert listed(viewer, contains="10.4.1.5") == chain
    assert listed(viewer, contains="10.4.0.0/16") == chain
    assert listed(viewer, contains="10.4.1.5/12") == named("corporate", "us-east-1")  # host bits
    assert listed(viewer, contains="fd00:ec2::1") == named("ula-v6")
    assert listed(viewer, contains="192.168.0.1") == set()


def test_text_search_in_name_description_id_and_tags(viewer):
    dev = IpamPool.objects.get(name="eu-west-1-dev")
    assert listed(viewer, q="EU-WEST-1-D") == {dev.pool_id}
    assert listed(viewer, q="private IPv4") == named("corporate")  # the description
    assert listed(viewer, q=dev.pool_id[-6:]) == {dev.pool_id}


def test_filters_combine(viewer, private_scope):
    assert listed(viewer, scope=private_scope.scope_id, depth=3, locale="us-east-1") == named(
        "us-east-1-prod", "us-east-1-dev"
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"family": "ipv5"}, "family"),
        ({"state": "exploded"}, "state"),
        ({"depth": "0"}, "depth"),
        ({"depth": "11"}, "depth"),
        ({"depth": "²"}, "depth"),
        ({"depth": "9" * 5000}, "depth"),
        ({"depth": "1.5"}, "depth"),
        ({"depth_min": "-1"}, "depth_min"),
        ({"depth_max": "ten"}, "depth_max"),
        ({"locale": "x" * 65}, "locale"),
        ({"tag": "k" * 257}, "tag"),
        ({"contains": "10.0.0.0/33"}, "contains"),
        ({"contains": "not an address"}, "contains"),
        ({"contains": "1" * 65}, "contains"),
        ({"q": "q" * 10_000}, "q"),
    ],
)
def test_hostile_filter_values_are_a_400_on_their_field(viewer, params, field):
    body = problem(viewer.get(POOLS, params), 400)
    assert body["field"] == field
    assert field in {e["field"] for e in body["errors"]}


@pytest.mark.parametrize(
    "params", [{"family": "\x00"}, {"q": "a\x00b"}, {"cursor": "\x00"}, {"\x00": "x"}]
)
def test_a_nul_anywhere_in_the_query_is_a_400_before_any_filter(viewer, params):
    assert problem(viewer.get(POOLS, params), 400)["code"] == "nul"


@pytest.mark.parametrize(
    "params",
    [
        {"scope": "ipam-scope-" + "0" * 5000},
        {"ipam": "²"},
        {"source_pool": "ipam-pool-\x01"},
        {"locale": "ünïcode"},
        {"tag": "="},
        {"q": "%_\\"},
        {"unknown": "\x01"},
    ],
)
def test_odd_but_harmless_filter_values_match_nothing_or_everything(viewer, params):
    assert viewer.get(POOLS, params).status_code == 200


# --- pages -----------------------------------------------------------------------------------


def test_every_page_in_turn_gives_every_pool_once_in_a_stable_order(viewer):
    build_tree(40, label="pages")
    expected = list(IpamPool.objects.live().order_by("id").values_list("pool_id", flat=True))
    first = [p["pool_id"] for p in every_page(viewer, POOLS, {"page_size": 7})]
    again = [p["pool_id"] for p in every_page(viewer, POOLS, {"page_size": 7})]
    assert first == again == expected  # no gap, no duplicate, the same order each time


def test_previous_links_walk_back(viewer):
    build_tree(10, label="back")
    answer = viewer.get(POOLS, {"page_size": 5})
    one = [p["pool_id"] for p in answer.json()["results"]]
    assert answer.json()["previous"] is None
    two = viewer.get(answer.json()["next"]).json()
    back = viewer.get(two["previous"]).json()
    assert [p["pool_id"] for p in back["results"]] == one


def test_a_pool_added_meanwhile_neither_repeats_nor_hides_a_row(viewer):
    build_tree(10, label="meanwhile")
    answer = viewer.get(POOLS, {"page_size": 5}).json()
    seen = [p["pool_id"] for p in answer["results"]]
    added = build_tree(2, label="added")  # new rows have larger ids: they come last
    following = answer["next"]
    while following:
        page = viewer.get(following).json()
        seen += [p["pool_id"] for p in page["results"]]
        following = page["next"]
    assert len(seen) == len(set(seen)) == IpamPool.objects.live().count()
    assert seen[-len(added.pools) :] == [p.pool_id for p in added.pools]


def test_page_size_bounds(viewer):
    """1 to 1,000 rows; a size that is no such number is a 400 on ``page_size``."""
    build_tree(1100, roots=4, label="size")
    for asked, given in [("1", 1), ("3", 3), ("1000", 1000)]:
        assert len(viewer.get(POOLS, {"page_size": asked}).json()["results"]) == given, asked
    for asked in ["0", "-4", "abc", "²", "5000", "1" * 5000, ""]:
        body = problem(viewer.get(POOLS, {"page_size": asked}), 400)
        assert (body["field"], body["code"]) == ("page_size", "page_size_invalid"), asked


@pytest.mark.parametrize(
    "cursor", ["garbage", "cD1hYmM=", "cD0tMQ==", "²", "A" * 5000, "cj0yJnA9MQ=="]
)
def test_a_cursor_no_page_made_is_a_400_on_cursor(viewer, cursor):
    # cD1hYmM= is "p=abc", cD0tMQ== "p=-1", cj0yJnA9MQ== "r=2&p=1"
    answer = viewer.get(POOLS, {"cursor": cursor})
    if answer.status_code != 200:
        assert problem(answer, 400)["field"] == "cursor"


# --- one pool --------------------------------------------------------------------------------


def test_one_pool(viewer):
    east = IpamPool.objects.get(name="us-east-1")
    body = viewer.get(f"{POOLS}{east.pool_id}/").json()
    assert body["pool_id"] == east.pool_id
    assert body["cidrs"] == ["10.0.0.0/12"]
    assert body["child_count"] == 2


@pytest.mark.parametrize(
    "pool_id", ["ipam-pool-00000000000000000", "a" * 129, "%00", "ipam-pool-²", "..", "a%2Fb"]
)
def test_an_unknown_or_impossible_pool_is_a_404(viewer, pool_id):
    problem(viewer.get(f"{POOLS}{pool_id}/"), 404)


def test_a_pool_gone_from_aws_is_a_404(viewer):
    east = IpamPool.objects.get(name="us-east-1")
    IpamPool.objects.filter(pk=east.pk).update(missing_since="2024-01-01T00:00:00Z")
    problem(viewer.get(f"{POOLS}{east.pool_id}/"), 404)


# --- ETags -----------------------------------------------------------------------------------


@pytest.mark.parametrize("detail", [False, True])
def test_an_etag_answers_304_until_something_changes(viewer, detail):
    east = IpamPool.objects.get(name="us-east-1")
    url = f"{POOLS}{east.pool_id}/" if detail else POOLS
    first = viewer.get(url)
    etag = first["ETag"]
    assert etag
    again = viewer.get(url, If_None_Match=etag)
    assert again.status_code == 304
    assert again.content == b""
    IpamPool.objects.filter(pk=east.pk).update(description="changed")
    changed = viewer.get(url, If_None_Match=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


# --- the SQL budget --------------------------------------------------------------------------


def count_queries(api: Api, url: str, params: dict[str, Any]) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.get(url, params).status_code == 200
    return len(queries)


def test_the_list_costs_the_same_queries_for_10_or_1000_pools(
    viewer, django_assert_max_num_queries
):
    small = build_tree(10, label="small")
    budget = count_queries(viewer, POOLS, {"scope": small.scope.scope_id, "page_size": 1000})
    big = build_tree(1000, wide=300, label="big")
    with django_assert_max_num_queries(budget):
        answer = viewer.get(POOLS, {"scope": big.scope.scope_id, "page_size": 1000})
    assert len(answer.json()["results"]) == 1000
    with django_assert_max_num_queries(budget + 1):  # the tag filter's subquery is one query
        assert viewer.get(POOLS, {"tag": "team=team-1", "page_size": 1000}).status_code == 200


def test_one_pool_costs_the_same_queries_whatever_its_children(
    viewer, django_assert_max_num_queries
):
    small = build_tree(5, label="few")
    budget = count_queries(viewer, f"{POOLS}{small.pools[0].pool_id}/", {})
    big = build_tree(400, wide=300, label="many")
    assert big.wide is not None
    with django_assert_max_num_queries(budget):
        assert viewer.get(f"{POOLS}{big.wide.pool_id}/").json()["child_count"] == 300


# --- who may read ----------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [("viewer", 200), ("editor", 200), ("admin", 200)])
def test_roles_that_may_read(api_as, role, status):
    east = IpamPool.objects.get(name="us-east-1")
    assert api_as(role).get(POOLS).status_code == status
    assert api_as(role).get(f"{POOLS}{east.pool_id}/").status_code == status


def test_a_user_without_the_permission_is_refused(api_as):
    east = IpamPool.objects.get(name="us-east-1")
    problem(api_as("nobody").get(POOLS), 403)
    problem(api_as("nobody").get(f"{POOLS}{east.pool_id}/"), 403)


@pytest.mark.parametrize(
    "authorization", [None, "Bearer nope", "Bearer ipamui_" + "x" * 40, "Token \x00", "Basic eDp4"]
)
def test_no_token_or_a_bad_one_is_a_401(demo, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    body = problem(Client().get(POOLS, **headers), 401)
    assert body["code"] in {"not_authenticated", "token_invalid", "authentication_failed"}


def test_a_revoked_token_is_a_401(viewer):
    from api.models import ApiToken

    ApiToken.objects.filter(user=viewer.user).delete()
    problem(viewer.get(POOLS), 401)


def test_a_session_login_reads_the_list(viewer):
    client = Client()
    client.force_login(viewer.user)
    assert client.get(POOLS).status_code == 200


def test_nothing_in_the_list_is_of_another_kind(viewer, private_scope):
    """The scope filter of a scope of another IPAM, or an IPAM's id as a scope: nothing."""
    assert listed(viewer, scope=private_scope.ipam.ipam_id) == set()
    public = IpamScope.objects.get(scope_type="public")
    assert listed(viewer, scope=public.scope_id) == set()
