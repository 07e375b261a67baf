"""Hostile input to every page and form: no answer is a 5xx, no GET writes, and a refused
request changes nothing, in the app or in AWS.

Values: NUL and control characters, non-BMP characters, ``²`` and other non-ASCII digits,
numbers of 5,000 digits, 10 kB strings, ids of other objects, repeated parameters. Sent as an
anonymous visitor, an IPAM viewer and an IPAM editor. The run is bounded (the "ci" profile of
tests/conftest.py); ``make fuzz`` runs the long one.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from pools.models import IpamPool, IpamPoolAllocation, IpamPoolCidr, PoolCreation

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "\x01\x0b\x1f",
            "\ufffe\uffff",
            "²",
            "١٢",
            "9" * 5000,
            "-5",
            "1e5",
            "x" * 10_000,
            "10.0.0.0/8",
            "10.0.0.1/33",
            "ipam-pool-0123456789abcdef0",
            "ipam-scope-0123456789abcdef0",
            "__pool__",
            "../../etc/passwd",
            "' OR 1=1 --",
            "%00",
            "🙂" * 50,
        ]
    ),
)
ROLES = ["anonymous", "viewer", "editor"]


@pytest.fixture
def clients(db, demo, django_user_model) -> dict[str, Client]:
    made = {"anonymous": Client()}
    for role, group in (("viewer", "IPAM viewers"), ("editor", "IPAM editors")):
        user = django_user_model.objects.create_user(role)
        user.groups.add(Group.objects.get(name=group))
        made[role] = Client()
        made[role].force_login(user)
    return made


WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def aws_calls(sim: Any) -> int:
    """How many requests the endpoint has answered (counted by the fixture below)."""
    return sim.answered


@pytest.fixture(autouse=True)
def count_answers(sim: Any) -> None:
    sim.answered = 0
    handle = sim.handle

    def counted(*args: Any) -> Any:
        sim.answered += 1
        return handle(*args)

    sim.handle = counted


def state(sim: Any) -> tuple:
    """What a request must not change: the mirror's rows, and AWS's pools."""
    return (
        sorted(IpamPool.objects.values_list("pool_id", "state", "description")),
        IpamPoolCidr.objects.count(),
        IpamPoolAllocation.objects.count(),
        PoolCreation.objects.count(),
        len(sim.store.objects["pool"]),
        len(sim.store.objects["cidr"]),
        len(sim.store.objects["allocation"]),
    )


def some_ids() -> dict[str, str]:
    pool = IpamPool.objects.filter(name="us-east-1-prod").select_related("scope").get()
    return {"pool": pool.pool_id, "scope": pool.scope.scope_id, "ipam": pool.scope.ipam.ipam_id}


GET_PAGES = [
    ("home", []),
    ("scope_detail", ["scope"]),
    ("tree_children", ["scope", "pool"]),
    ("pool_detail", ["pool"]),
    ("pool_status", ["pool"]),
    ("pool_map", ["pool"]),
    ("pool_new", []),
    ("pool_source_search", []),
    ("ipam_changes", ["ipam"]),
    ("ipam_changed_since", ["ipam"]),
    ("pool_allocations", ["pool"]),
    ("pool_edit", ["pool"]),
]
QUERY_KEYS = [
    *("q", "open", "expand", "level", "source", "scope", "cidr", "family", "source_pool"),
    *("origin", "kind", "pool", "user", "before", "after"),  # the change log's
]


@pytest.mark.parametrize(("name", "args"), GET_PAGES, ids=[n for n, _ in GET_PAGES])
@given(
    role=st.sampled_from(ROLES),
    query=st.lists(st.tuples(st.sampled_from(QUERY_KEYS), HOSTILE_TEXT), max_size=4),
    segment=st.one_of(st.none(), HOSTILE_TEXT),
)
def test_get_pages_answer_and_write_nothing(clients, sim, name, args, role, query, segment):
    ids = some_ids()
    values = [ids[a] for a in args]
    if segment is not None and values:
        values[-1] = segment
    try:
        url = reverse(name, args=values)
    except Exception:  # a segment no URL can carry: the router answers it, as below
        url = reverse(name, args=[ids[a] for a in args]).rstrip("/") + "/" + segment + "/"
    before, calls = state(sim), aws_calls(sim)

    with CaptureQueriesContext(connection) as queries:
        response = clients[role].get(url, query, HTTP_HX_REQUEST="true")

    assert response.status_code < 500, (url, query)
    assert state(sim) == before, "a GET changed AWS or the mirror"
    assert not [q["sql"] for q in queries if WRITE.match(q["sql"])], "a GET wrote"
    assert aws_calls(sim) == calls, "a GET called AWS"


FORM_FIELDS = [
    "scope",
    "address_family",
    "source_pool",
    "locale",
    "description",
    "allocation_min_netmask_length",
    "allocation_max_netmask_length",
    "allocation_default_netmask_length",
    "public_ip_source",
    "aws_service",
    "publicly_advertisable",
    "source_resource_id",
    "source_resource_region",
    "first_cidr",
    "first_netmask_length",
    "client_token",
    "tag-TOTAL_FORMS",
    "tag-INITIAL_FORMS",
    "tag-0-key",
    "tag-0-value",
    "arts-TOTAL_FORMS",
    "arts-0-key",
    "_live",
]
POSTS = [
    ("pool_new", []),
    ("pool_validate", []),
    ("pool_tag_rows", ["tag"]),
    ("pool_check_permissions", []),
    ("pool_provision", ["pool"]),
    ("pool_delete", ["pool"]),
    ("pool_follow", ["pool"]),
]
POST_FIELDS = [*FORM_FIELDS, "provision-cidr", "provision-netmask_length", "cascade"]


@pytest.mark.parametrize(("name", "args"), POSTS, ids=[n for n, _ in POSTS])
@given(
    role=st.sampled_from(ROLES),
    data=st.dictionaries(st.sampled_from(POST_FIELDS), HOSTILE_TEXT, max_size=8),
)
def test_forms_answer_and_a_refused_request_changes_nothing(clients, sim, name, args, role, data):
    ids = {**some_ids(), "tag": "tag"}
    url = reverse(name, args=[ids[a] for a in args])
    if name == "pool_delete":
        data.pop("cascade", None)  # a valid delete would change things, rightly
    before = state(sim)

    response = clients[role].post(url, data, HTTP_HX_REQUEST="true")

    assert response.status_code < 500, (url, data)
    if response.status_code != 302 or role == "anonymous":
        assert state(sim) == before, "a refused request changed something"
