"""Hostile requests to the plans API: no answer is a 5xx, a GET changes nothing (in the
database or in AWS), and a refused request changes nothing.

Ids and keys in the path, query values and bodies are drawn from the values of
tests/integration/app/test_fuzz.py (NUL and control characters, ``²``, 5,000 digits, 10 kB
strings, other objects' ids) and from JSON of every type, mixed with values the endpoints
take, so that the properties reach past the first refusal. Sent by every role.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from planning import runs
from planning.models import ApplyRun
from tests.integration.app.test_fuzz import HOSTILE_TEXT

from . import test_plans
from .test_plans import state

make_plan = test_plans.make_plan
plan = test_plans.plan
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("count_answers")]
WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
ROLES = ["anonymous", "nobody", "viewer", "editor"]

JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(1 << 70), max_value=1 << 70),
        st.sampled_from([10**100, -1, 0, 1.5, 1e308]),
        HOSTILE_TEXT,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(HOSTILE_TEXT, inner, max_size=3)
    ),
    max_leaves=6,
)
FIELDS = [
    *("ipam", "scope", "address_family", "name", "space", "parent_pool", "description"),
    *("nodes", "key", "parent", "intent", "cidr", "prefix_length", "need_count"),
    *("need_length", "need_hosts", "need_growth", "locale", "spare_slots", "min_netmask"),
    *("max_netmask", "default_netmask", "tags", "allocation_resource_tags"),
    *("schema_version", "address_family"),
]
GOOD = st.sampled_from(
    [
        ("name", "web"),
        ("prefix_length", 24),
        ("parent", "top"),
        ("intent", "need"),
        ("need_hosts", 100),
        ("cidr", "172.16.0.0/24"),
        ("space", ["10.0.0.0/8"]),
        ("tags", {"team": "x"}),
        ("schema_version", 1),
        ("nodes", [{"id": "a", "name": "a", "intent": {"prefix_length": 24}}]),
    ]
)
BODY = st.one_of(
    JSON,
    st.lists(st.one_of(st.tuples(st.sampled_from(FIELDS), JSON), GOOD), max_size=6).map(dict),
)
SEGMENT = st.one_of(
    st.sampled_from(["{plan}", "{plan}", "{other}", "0", "9" * 5000, "99999999999999999999"]),
    HOSTILE_TEXT,
)
KEY = st.one_of(st.sampled_from(["top", "kid", "kid", "nope", "k" * 33]), HOSTILE_TEXT)
# Mostly the plans there are, so that the properties reach past the 404.
PLAN = st.one_of(st.just("{plan}"), st.just("{other}"), SEGMENT)
READS = ["", "nodes/", "nodes/{key}/", "findings/", "diff/", "document/", "runs/", "runs/{run}/"]
WRITES = [
    ("post", ""),
    ("patch", "{plan}/"),
    ("delete", "{plan}/"),
    ("post", "{plan}/nodes/"),
    ("patch", "{plan}/nodes/{key}/"),
    ("post", "{plan}/nodes/{key}/move/"),
    ("delete", "{plan}/nodes/{key}/"),
    ("put", "{plan}/document/"),
    ("post", "{plan}/validate/"),
    ("post", "{plan}/runs/"),
    ("post", "{plan}/runs/{run}/pause/"),
    ("post", "{plan}/runs/{run}/resume/"),
    ("post", "{plan}/runs/{run}/cancel/"),
]


@pytest.fixture
def callers(api_as) -> dict[str, Any]:
    made: dict[str, Any] = {role: api_as(role) for role in ROLES if role != "anonymous"}
    made["anonymous"] = None
    return made


@pytest.fixture
def other(make_plan):
    """A plan being applied: its run queued (no worker runs it)."""
    applied = make_plan(
        "other", space="192.168.0.0/16", nodes=[test_plans.node("top", prefix_length=20)]
    )
    runs.start(applied)
    return applied


def _segment(text: str, ids: dict[str, Any]) -> str:
    return quote(str(ids[text[1:-1]]) if text in ("{plan}", "{other}", "{run}") else text, safe="")


@given(
    role=st.sampled_from(ROLES),
    read=st.sampled_from(READS),
    plan_id=PLAN,
    key=KEY,
    run=st.one_of(st.just("{run}"), SEGMENT),
    query=st.dictionaries(
        st.sampled_from(["ipam", "scope", "status", "family", "page_size", "cursor"]),
        HOSTILE_TEXT,
        max_size=3,
    ),
)
def test_gets_answer_and_change_nothing(
    callers, plan, other, sim, role, read, plan_id, key, run, query
):
    ids = {"plan": plan.pk, "other": other.pk, "run": other.runs.get().pk}
    path = f"/api/plans/{_segment(plan_id, ids)}/" + read.format(
        key=quote(key, safe=""), run=_segment(run, ids)
    )
    if not read and plan_id == "{plan}":
        path = "/api/plans/"
    before, answers = state(), sim.answered
    with CaptureQueriesContext(connection) as queries:
        caller = callers[role]
        answer = caller.get(path, query) if caller else Client().get(path, query)
    assert answer.status_code < 500, answer.content[:500]
    assert not [q["sql"] for q in queries if WRITE.match(q["sql"])], "a GET wrote"
    assert state() == before
    assert sim.answered == answers


@given(
    role=st.sampled_from(ROLES),
    write=st.sampled_from(WRITES),
    plan_id=PLAN,
    key=KEY,
    body=BODY,
    if_match=st.one_of(st.none(), st.sampled_from(["0", "*", '"1"', "W/x"]), HOSTILE_TEXT),
)
def test_writes_answer_and_a_refusal_changes_nothing(
    callers, plan, other, sim, role, write, plan_id, key, body, if_match
):
    ids = {"plan": plan.pk, "other": other.pk}
    method, template = write
    run = ApplyRun.objects.filter(plan=other).values_list("pk", flat=True).get()
    path = "/api/plans/" + template.format(
        plan=_segment(plan_id, ids), key=quote(key, safe=""), run=run
    )
    headers = {} if if_match is None or "\x00" in if_match else {"If-Match": if_match}
    with transaction.atomic():  # each example starts from the same plans
        before = state()
        answer = _send(callers[role], method, path, body, headers)
        if answer is not None:
            assert answer.status_code < 500, answer.content[:500]
            if answer.status_code >= 400:
                assert state() == before, answer.content[:500]
        transaction.set_rollback(True)


def _send(caller: Any, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    if caller is None:
        return getattr(Client(), method)(path, body, content_type="application/json")
    try:
        return getattr(caller, method)(path, body, **headers)
    except ValueError:  # a header the test client cannot send (a newline in it)
        return None
