"""Hostile input to the pool page's space forms (allocate, preview, release, deprovision and the
live checks): no 5xx, and a request that is refused changes nothing, in the app or in AWS.

Besides the hostile text of ``test_fuzz``, the values include what belongs to other objects:
allocation ids and CIDRs of other pools, and this pool's child-pool allocations.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from pools.models import IpamPool, IpamPoolAllocation
from tests.integration.app.test_fuzz import HOSTILE_TEXT, ROLES, aws_calls, state

# The fixtures of test_fuzz: its users, and the count of AWS calls (autouse).
from tests.integration.app.test_fuzz import clients as clients
from tests.integration.app.test_fuzz import count_answers as count_answers

POOL = "us-east-1"  # a pool with child pools: its allocations are not custom
OTHER = "us-east-1-prod"  # custom allocations of another pool

SPACE_POSTS = [
    "pool_allocate",
    "pool_allocate_preview",
    "pool_allocate_validate",
    "pool_provision_validate",
    "allocation_release",
    "pool_deprovision",
]
FIELDS = [
    "allocate-cidr",
    "allocate-netmask_length",
    "allocate-allowed_cidrs",
    "allocate-disallowed_cidrs",
    "allocate-description",
    "allocate-client_token",
    "provision-cidr",
    "provision-netmask_length",
    "provision-client_token",
    "allocation",
    "cidr",
    "back",
]


def others() -> list[str]:
    """Ids and CIDRs of other objects, and of this pool's allocations."""
    values: list[str] = []
    for allocation in IpamPoolAllocation.objects.filter(pool__name__in=[POOL, OTHER]):
        values += [allocation.allocation_id, str(allocation.cidr)]
    for pool in IpamPool.objects.all():
        values += [pool.pool_id, *(str(c.cidr) for c in pool.cidrs.all())]
    return values


@pytest.mark.parametrize("name", SPACE_POSTS)
@given(
    role=st.sampled_from(ROLES),
    data=st.dictionaries(
        st.sampled_from(FIELDS),
        st.one_of(HOSTILE_TEXT, st.integers(min_value=0, max_value=10_000).map(str)),
        max_size=6,
    ),
    pick=st.lists(st.tuples(st.sampled_from(FIELDS), st.integers(min_value=0)), max_size=2),
)
def test_space_forms_answer_and_a_refused_request_changes_nothing(
    clients, sim, name, role, data, pick
):
    pool = IpamPool.objects.get(name=POOL)
    known = others()
    for field, index in pick:  # another object's id or CIDR in a field
        data[field] = known[index % len(known)]
    url = reverse(name, args=[pool.pool_id])
    before, calls = state(sim), aws_calls(sim)

    response = clients[role].post(url, data, HTTP_HX_REQUEST="true")

    assert response.status_code < 500, (url, data)
    if name.endswith(("_validate", "_preview")):
        assert state(sim) == before, "a check changed something"
        if name.endswith("_validate"):
            assert aws_calls(sim) == calls, "a live check called AWS"
    elif response.status_code != 302:
        assert state(sim) == before, "a refused request changed something"


@given(
    role=st.sampled_from(ROLES),
    query=st.lists(st.tuples(st.sampled_from(["page", "q", "all"]), HOSTILE_TEXT), max_size=3),
)
def test_the_allocations_page_answers_and_writes_nothing(clients, sim, role, query):
    pool = IpamPool.objects.get(name=POOL)
    before, calls = state(sim), aws_calls(sim)

    response: Any = clients[role].get(reverse("pool_allocations", args=[pool.pool_id]), query)

    assert response.status_code < 500
    assert state(sim) == before
    assert aws_calls(sim) == calls
