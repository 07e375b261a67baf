"""Hostile input to the forms that edit a pool, its tags and delete it: no 5xx, and a refused
request changes nothing, in the app or in AWS (the values and roles of test_fuzz.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from pools.models import IpamPool, PoolTag
from tests.integration.app import test_fuzz
from tests.integration.app.test_fuzz import HOSTILE_TEXT, ROLES, some_ids

# The users and the count of AWS's answers of test_fuzz.py, as fixtures of this module too.
clients = test_fuzz.clients
count_answers = test_fuzz.count_answers

EDIT_FIELDS = [
    "edit-description",
    "edit-auto_import",
    "edit-allocation_min_netmask_length",
    "edit-allocation_default_netmask_length",
    "edit-allocation_max_netmask_length",
    "edit-clear_default_netmask_length",
    "arts-TOTAL_FORMS",
    "arts-INITIAL_FORMS",
    "arts-0-key",
    "arts-0-value",
    "arts-0-DELETE",
    "arts-1-key",
]
TAG_FIELDS = [
    "tag-TOTAL_FORMS",
    "tag-INITIAL_FORMS",
    "tag-0-key",
    "tag-0-value",
    "tag-0-DELETE",
    "tag-1-key",
    "tag-1-value",
    "tag-60-key",
]
POSTS = [
    ("pool_edit", ["pool"], EDIT_FIELDS),
    ("pool_edit_validate", ["pool"], EDIT_FIELDS),
    ("pool_edit_rows", ["pool", "arts"], EDIT_FIELDS),
    ("pool_edit_rows", ["pool", "tag"], TAG_FIELDS),
    ("pool_tags", ["pool"], TAG_FIELDS),
    ("pool_tags_validate", ["pool"], TAG_FIELDS),
    ("pool_delete", ["pool"], ["cascade", "x"]),
]


def state(sim: Any) -> tuple:
    """What an edit must not change when it is refused: the pools' settings and tags, in the
    mirror and in AWS."""
    return (
        sorted(
            IpamPool.objects.values_list(
                "pool_id",
                "state",
                "description",
                "auto_import",
                "allocation_min_netmask_length",
                "allocation_max_netmask_length",
                "allocation_default_netmask_length",
                "name",
            )
        ),
        sorted(
            (p.pool_id, sorted(p.tags.items()), sorted(p.allocation_resource_tags.items()))
            for p in IpamPool.objects.all()
        ),
        PoolTag.objects.count(),
        sorted(repr(sorted(p.items())) for p in sim.store.objects["pool"].values()),
    )


@pytest.mark.parametrize(
    ("name", "args", "fields"), POSTS, ids=[f"{n}-{a[-1]}" for n, a, _ in POSTS]
)
@given(
    role=st.sampled_from(ROLES),
    data=st.data(),
    segment=st.one_of(st.none(), HOSTILE_TEXT),
)
def test_edit_forms_answer_and_a_refused_request_changes_nothing(
    clients, sim, name, args, fields, role, data, segment
):
    values = {**some_ids(), "arts": "arts", "tag": "tag"}
    posted = data.draw(st.dictionaries(st.sampled_from(fields), HOSTILE_TEXT, max_size=8))
    url = reverse(name, args=[values[a] for a in args])
    if segment is not None and name == "pool_edit_rows":
        url = url.rstrip("/").rsplit("/", 1)[0] + "/" + segment + "/"
    if name == "pool_delete":
        posted.pop("cascade", None)  # a valid delete would change things, rightly
    before = state(sim)

    response = clients[role].post(url, posted, HTTP_HX_REQUEST="true")

    assert response.status_code < 500, (url, posted)
    if response.status_code != 302 or role == "anonymous":
        assert state(sim) == before, "a refused request changed something"


@given(role=st.sampled_from(ROLES), segment=st.one_of(st.none(), HOSTILE_TEXT))
def test_the_edit_page_answers_and_changes_nothing(clients, sim, role, segment):
    pool_id = some_ids()["pool"] if segment is None else segment
    before = state(sim)

    response = clients[role].get(f"/pools/{pool_id}/edit/")

    assert response.status_code < 500
    assert state(sim) == before
