"""Hostile input to the plan pages and every form on them: no answer is a 5xx, no GET writes,
a refused (or merely checked) edit changes nothing, and a refused form keeps what was typed.

The values of tests/integration/app/test_fuzz.py (NUL and control characters, ``²``, 5,000
digits, 10 kB strings, other objects' ids), mixed with values the forms take, so that the
properties reach past the first refusal. Sent as an anonymous visitor, a user of no group, an
IPAM viewer and an IPAM editor, with and without htmx.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from hypothesis import given
from hypothesis import strategies as st

from planning.models import Plan, PlanNode
from pools.models import Reservation
from tests.integration.app.test_fuzz import HOSTILE_TEXT

from . import test_plan_views

# The plan and the users of test_plan_views.py, as fixtures of this module too.
bound_plan = test_plan_views.bound_plan
clients = test_plan_views.clients

ROLES = ["anonymous", "nobody", "viewer", "editor"]
WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
KEYS = ["use1", "stg", "stgweb", "stgdata", "aps1", "aps1prod", "aps1pin"]

# Values the forms take, beside the hostile ones: a key of the plan, a size, a CIDR.
GOOD = {
    "parent": st.sampled_from(["", *KEYS]),
    "under": st.sampled_from(["", *KEYS]),
    "intent": st.sampled_from(["cidr", "length", "need"]),
    "cidr": st.sampled_from(["10.48.0.0/16", "10.56.0.0/20", "10.8.0.0/20", "fd00::/8"]),
    "prefix_length": st.integers(-2, 130).map(str),
    "need_count": st.integers(0, 1 << 21).map(str),
    "need_length": st.integers(-1, 130).map(str),
    "need_hosts": st.integers(0, 1 << 65).map(str),
    "need_growth": st.integers(-1, 1001).map(str),
    "spare_slots": st.integers(-1, 300).map(str),
    "min_netmask": st.integers(-1, 33).map(str),
    "max_netmask": st.integers(-1, 33).map(str),
    "default_netmask": st.integers(-1, 33).map(str),
    "locale": st.sampled_from(["", "None", "us-east-1", "us-west-2", "eu-west-1", "xx-1"]),
    "tag-TOTAL_FORMS": st.sampled_from(["0", "1", "2", "61", "-1"]),
    "tag-INITIAL_FORMS": st.sampled_from(["0", "1"]),
    "arts-TOTAL_FORMS": st.sampled_from(["0", "1", "99"]),
    "arts-INITIAL_FORMS": st.sampled_from(["0"]),
    "tag-0-key": st.sampled_from(["team", "Name", "aws:x", "k" * 129]),
    "space": st.sampled_from(["10.0.0.0/8", "10.0.0.0/8, 10.1.0.0/16", "172.16.0.0/12\n"]),
    "name": st.sampled_from(["web", "us-east-1-staging", "a" * 257]),
    "version": st.sampled_from(["1", "2", "3"]),
    "_validate": st.sampled_from(["1"]),
    "_rows": st.sampled_from(["tag", "arts", "other"]),
}

NODE_FIELDS = [
    *("key", "version", "seen", "name", "parent", "intent", "cidr", "prefix_length"),
    *("need_count", "need_length", "need_hosts", "need_growth", "locale", "spare_slots"),
    *("min_netmask", "default_netmask", "max_netmask", "description"),
    *("tag-TOTAL_FORMS", "tag-INITIAL_FORMS", "tag-0-key", "tag-0-value", "tag-0-DELETE"),
    *("arts-TOTAL_FORMS", "arts-INITIAL_FORMS", "arts-0-key", "arts-0-value"),
    *("_validate", "_rows"),
]
# Each form's post as the page sends it, which the hostile values then override in part.
POSTS = [
    (
        "plan_node_add",
        False,
        NODE_FIELDS,
        {
            "key": "n-0123456789ab",
            "name": "web",
            "intent": "length",
            "prefix_length": "20",
            "parent": "aps1",
        },
    ),
    (
        "plan_node_edit",
        True,
        NODE_FIELDS,
        {"name": "edited", "intent": "length", "prefix_length": "14"},
    ),
    ("plan_node_move", True, ["parent", "version", "_validate"], {"parent": "aps1"}),
    ("plan_repack", False, ["under", "version"], {}),
    ("plan_settings", False, ["name", "description", "space"], {"name": "expansion"}),
    ("plan_validate", False, ["version"], {}),
]


def state(plan: Plan) -> tuple:
    """What a refused request must not change: the plans, their nodes and the ledger."""
    nodes = PlanNode.objects.order_by("plan", "key").values_list(
        *("plan", "key", "parent__key", "name", "intent", "prefix_length", "need_count"),
        *("need_length", "need_hosts", "need_growth", "cidr", "locale", "spare_slots"),
        *("min_netmask", "max_netmask", "default_netmask", "description", "tags"),
        "allocation_resource_tags",
    )
    plans = Plan.objects.order_by("pk").values_list(
        "pk", "name", "description", "space", "status", "version", "findings"
    )
    return (
        [tuple(map(str, row)) for row in nodes],
        [tuple(map(str, row)) for row in plans],
        Reservation.objects.count(),
    )


def url_of(name: str, plan: Plan, key: str | None) -> str:
    args: list[Any] = [plan.pk]
    if key is None:
        return reverse(name, args=args)
    try:
        return reverse(name, args=[*args, key])
    except NoReverseMatch:  # a segment no URL can carry: the router answers it
        base = reverse(name, args=[*args, "stg"])
        return base.replace("/stg/", f"/{quote(key, safe='')}/", 1)


def field_value(name: str) -> st.SearchStrategy[str]:
    good = GOOD.get(name)
    return st.one_of(HOSTILE_TEXT, good) if good is not None else HOSTILE_TEXT


def was_saved(response: Any, posted: dict[str, str]) -> bool:
    """Whether the answer says the change was made (a redirect, or the plan's main region);
    a check (``_validate``) or more tag rows never are."""
    if "_validate" in posted or posted.get("_rows") in ("tag", "arts"):
        return False
    if response.status_code == 302:
        return True
    return response.get("HX-Retarget") == "#plan-main" or response.has_header("HX-Redirect")


@pytest.mark.parametrize(("name", "keyed", "fields", "base"), POSTS, ids=[p[0] for p in POSTS])
@given(
    role=st.sampled_from([*ROLES, "editor", "editor"]),
    htmx=st.booleans(),
    data=st.data(),
    key=st.one_of(st.sampled_from(KEYS), HOSTILE_TEXT),
)
def test_forms_answer_and_a_refused_edit_changes_nothing(
    clients, bound_plan, name, keyed, fields, base, role, htmx, data, key
):
    posted = dict(base) if data.draw(st.booleans()) else {}
    for field in data.draw(st.lists(st.sampled_from(fields), max_size=5, unique=True)):
        posted[field] = data.draw(field_value(field))
    url = url_of(name, bound_plan, key if keyed else None)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    before = state(bound_plan)

    response = clients[role].post(url, posted, **headers)

    assert response.status_code < 500, (url, posted)
    if role != "editor" or not was_saved(response, posted):
        assert state(bound_plan) == before, ("a refused request changed something", posted)
    refused_form = response.get("HX-Retarget") == "#node-form" or (
        not htmx and response.status_code == 200 and "node-form" in response.content.decode()
    )
    typed = posted.get("name", "")
    if refused_form and name in ("plan_node_add", "plan_node_edit") and typed:
        assert escape(typed) in response.content.decode(), "the input was lost"


@given(
    role=st.sampled_from(ROLES),
    htmx=st.booleans(),
    data=st.dictionaries(st.sampled_from(["version", "x"]), HOSTILE_TEXT, max_size=2),
    key=st.one_of(st.sampled_from(KEYS), HOSTILE_TEXT),
)
def test_deletes_by_those_who_may_not_change_nothing(clients, bound_plan, role, htmx, data, key):
    """A delete that may go through is a change, rightly; those refused change nothing, and
    an editor's delete of a key the plan does not have changes nothing either."""
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    before = state(bound_plan)
    node_url = url_of("plan_node_delete", bound_plan, key)
    if role == "editor" and key in KEYS:
        return
    for url in (node_url, *([] if role == "editor" else [url_of("plan_delete", bound_plan, None)])):
        response = clients[role].post(url, data, **headers)
        assert response.status_code < 500, (url, data)
    assert state(bound_plan) == before


QUERY_KEYS = [
    "open",
    "expand",
    "show",
    "node",
    "children",
    "level",
    "parent",
    "under",
    "ipam",
    "page",
]
GETS = [
    ("plan_list", None),
    ("plan_detail", None),
    ("plan_diff", None),
    ("plan_node_add", None),
    ("plan_node_edit", "key"),
    ("plan_node_move", "key"),
    ("plan_node_delete", "key"),
    ("plan_repack", None),
    ("plan_settings", None),
    ("plan_delete", None),
]


@pytest.mark.parametrize(("name", "keyed"), GETS, ids=[n for n, _ in GETS])
@given(
    role=st.sampled_from(ROLES),
    htmx=st.booleans(),
    query=st.lists(
        st.tuples(st.sampled_from(QUERY_KEYS), st.one_of(HOSTILE_TEXT, st.sampled_from(KEYS))),
        max_size=4,
    ),
    key=st.one_of(st.sampled_from(KEYS), HOSTILE_TEXT),
    plan_id=st.sampled_from([None, "0", "99999999999999999999", "9" * 5000]),
)
def test_get_pages_answer_and_write_nothing(
    clients, bound_plan, name, keyed, role, htmx, query, key, plan_id
):
    if name == "plan_list":
        url = reverse(name)
    else:
        url = url_of(name, bound_plan, key if keyed else None)
        if plan_id is not None:
            url = url.replace(f"/plans/{bound_plan.pk}/", f"/plans/{plan_id}/", 1)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    before = state(bound_plan)

    with CaptureQueriesContext(connection) as queries:
        response = clients[role].get(url, query, **headers)

    assert response.status_code < 500, (url, query)
    assert state(bound_plan) == before
    assert not [q["sql"] for q in queries if WRITE.match(q["sql"])], "a GET wrote"
