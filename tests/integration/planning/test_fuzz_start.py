"""Hostile input to the pages that start a plan: no answer is a 5xx, no GET writes, a refused
POST writes nothing and shows the input as it was typed (the values and roles of the app's
tests/integration/app/test_fuzz.py; bounded by the "ci" profile, longer with make fuzz)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape
from hypothesis import given
from hypothesis import strategies as st

from planning import start_forms, wizard
from planning.models import Plan, PlanNode
from pools.models import IpamPool, IpamScope, Reservation
from tests.integration.app import test_fuzz
from tests.integration.app.conftest import (  # noqa: F401 (autouse fixtures of the app's tests)
    fast_password_hashing,
    no_retry_delay,
    shared_service_models,
)
from tests.integration.app.test_fuzz import HOSTILE_TEXT, ROLES, WRITE

clients = test_fuzz.clients  # an anonymous visitor, an IPAM viewer, an IPAM editor

PAGES = ["plan_new", "plan_wizard", "plan_clone"]
QUERY_KEYS = ["preset", "scope", "pool", "family", "ipam", "x"]
PLACE_FIELDS = ["ipam", "scope", "address_family", "name", "space", "parent_pool", "description"]
LEVEL_FIELDS = [
    "dimension",
    "count",
    "pattern",
    "size",
    "length",
    "block_count",
    "hosts",
    "growth",
    "spare_slots",
    "DELETE",
]
WIZARD_FIELDS = [
    *PLACE_FIELDS,
    "regions",
    "units",
    "environments",
    "level-TOTAL_FORMS",
    "level-INITIAL_FORMS",
    "level-MAX_NUM_FORMS",
    *(f"level-{i}-{name}" for i in (0, 3, 9, 11) for name in LEVEL_FIELDS),
    "_action",
]
CLONE_FIELDS = ["scope", "pool", "address_family", "name", "description"]
FIELDS = {"plan_new": PLACE_FIELDS, "plan_wizard": WIZARD_FIELDS, "plan_clone": CLONE_FIELDS}
# Text typed into these is shown back as it was when the form is refused.
TYPED = {"name", "space", "description", "units", "environments", "level-0-pattern"}


def ids() -> list[str]:
    """Real ids of other objects: of the wrong family, of another scope."""
    return [
        *IpamPool.objects.values_list("pool_id", flat=True)[:4],
        *IpamScope.objects.values_list("scope_id", flat=True),
    ]


def valid(name: str) -> dict[str, Any]:
    """A request that would succeed: each example spoils some of it."""
    scope = IpamScope.objects.select_related("ipam").get(scope_type="private")
    if name == "plan_clone":
        pool = IpamPool.objects.get(name="us-east-1")
        return {"scope": scope.scope_id, "pool": pool.pool_id, "name": "clone"}
    if name == "plan_wizard":
        data = start_forms.wizard_data(
            wizard.PRESETS["regions-units-envs"], {"ipam": scope.ipam, "scope": scope}
        )
        return {**dict(data.lists()), "name": "wizard"}
    return {
        "ipam": scope.ipam.ipam_id,
        "scope": scope.scope_id,
        "address_family": "ipv4",
        "name": "empty",
        "space": "172.16.0.0/12",
    }


def state(sim: Any) -> tuple:
    return (
        sorted(Plan.objects.values_list("name", "version")),
        PlanNode.objects.count(),
        Reservation.objects.count(),
        len(sim.store.objects["pool"]),
    )


@pytest.mark.parametrize("name", PAGES)
@given(
    role=st.sampled_from(ROLES),
    query=st.lists(st.tuples(st.sampled_from(QUERY_KEYS), HOSTILE_TEXT), max_size=4),
)
def test_the_start_pages_answer_and_write_nothing(clients, sim, name, role, query):
    before = state(sim)

    with CaptureQueriesContext(connection) as queries:
        response = clients[role].get(reverse(name), query)

    assert response.status_code < 500, query
    assert state(sim) == before
    assert not [q["sql"] for q in queries if WRITE.match(q["sql"])], "a GET wrote"


@pytest.mark.parametrize("name", PAGES)
@given(
    role=st.sampled_from(ROLES),
    data=st.data(),
    how=st.sampled_from(["submit", "live", "htmx-submit"]),
)
def test_the_start_forms_answer_and_a_refused_post_writes_nothing(
    clients, sim, name, role, data, how
):
    hostile = st.one_of(HOSTILE_TEXT, st.sampled_from(ids()))
    spoiled = data.draw(st.dictionaries(st.sampled_from(FIELDS[name]), hostile, max_size=6))
    posted = {**valid(name), **spoiled}
    extra: dict[str, Any] = {}
    if how != "submit":
        extra["HTTP_HX_REQUEST"] = "true"
    if how == "live":
        posted["_live"] = data.draw(st.sampled_from(["", *FIELDS[name]]))
    if name == "plan_wizard" and data.draw(st.booleans()):
        posted["_action"] = "add_level"  # one more level, whatever the rest says
    before = state(sim)

    response = clients[role].post(reverse(name), posted, **extra)

    assert response.status_code < 500, posted
    if response.status_code != 302 or role != "editor":
        assert state(sim) == before, "a refused request wrote"
    if response.status_code == 302 and role == "editor":
        assert response["Location"].startswith("/plans/")


@pytest.mark.parametrize("name", PAGES)
@given(data=st.data())
def test_a_refused_form_shows_what_was_typed(clients, sim, name, data):
    fields = sorted(TYPED & set(FIELDS[name]))
    typed = data.draw(st.dictionaries(st.sampled_from(fields), HOSTILE_TEXT, min_size=1))
    # Spoil the request for certain: another IPAM's or no scope is always refused.
    posted = {**valid(name), **typed, "scope": "ipam-scope-0123456789abcdef0"}
    before = state(sim)

    response = clients["editor"].post(reverse(name), posted)

    assert response.status_code == 200
    assert state(sim) == before
    page = response.content.decode()
    for field, value in typed.items():
        assert escape(value) in page, field
