"""Hostile path and query values for every read endpoint of the API: no answer is a 5xx, every
error is problem details, and a GET writes nothing, in the mirror or in AWS."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from api.models import ApiToken
from pools.models import AwsCall, Change, IpamPool, IpamPoolAllocation, IpamPoolCidr, IpamScope

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
            "0",
            "1e5",
            "x" * 10_000,
            "10.0.0.0/8",
            "10.0.0.1/33",
            "fd00::/129",
            "key=",
            "=value",
            "none",
            "ipam-pool-0123456789abcdef0",
            "ipam-scope-0123456789abcdef0",
            "ipam-0123456789abcdef0",
            "__pool__",
            "__allocation__",
            "../../etc/passwd",
            "' OR 1=1 --",
            "%00",
            "cD1hYmM=",  # a cursor of "p=abc"
            "2024-01-01T00:00:00+00:00~0~1",
            "9999-12-31T23:59:59-14:00~1~9223372036854775807",
            "🙂" * 50,
        ]
    ),
)
ROLES = ["anonymous", "viewer", "nobody"]
WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)

# (path with {pool}, {scope}, {ipam}, {allocation}; the segment a hostile value may replace)
ENDPOINTS = [
    ("/api/ipams/", None),
    ("/api/ipams/{ipam}/", "ipam"),
    ("/api/scopes/", None),
    ("/api/scopes/{scope}/", "scope"),
    ("/api/pools/", None),
    ("/api/pools/{pool}/", "pool"),
    ("/api/pools/{pool}/cidrs/", "pool"),
    ("/api/pools/{pool}/allocations/", "pool"),
    ("/api/pools/{pool}/allocations/{allocation}/", "allocation"),
    ("/api/pools/{pool}/allocations/{allocation}/", "pool"),
    ("/api/changes/", None),
]
QUERY_KEYS = [
    *("cursor", "page_size", "ipam", "scope", "type", "source_pool", "family", "locale"),
    *("state", "depth", "depth_min", "depth_max", "tag", "contains", "q"),
    *("resource_type", "resource_id", "pool", "origin", "kind", "user", "before"),
]

pytestmark = pytest.mark.usefixtures("count_answers")


@pytest.fixture
def callers(api_as) -> dict[str, Client]:
    made = {"anonymous": Client()}
    for role in ("viewer", "nobody"):
        api = api_as(role)
        client = Client(HTTP_AUTHORIZATION=f"Bearer {api.token}")
        made[role] = client
    return made


def state(sim: Any) -> tuple:
    """What a GET must not change: the mirror, the log, the tokens, and AWS's objects."""
    return (
        sorted(IpamPool.objects.values_list("pool_id", "state", "description")),
        IpamScope.objects.count(),
        IpamPoolCidr.objects.count(),
        IpamPoolAllocation.objects.count(),
        AwsCall.objects.count(),
        Change.objects.count(),
        sorted(ApiToken.objects.values_list("id", "expires_at")),
        len(sim.store.objects["pool"]),
        len(sim.store.objects["cidr"]),
        len(sim.store.objects["allocation"]),
    )


def some_ids() -> dict[str, str]:
    pool = IpamPool.objects.filter(name="us-east-1-prod").select_related("scope__ipam").get()
    allocation = pool.allocations.first()
    assert allocation is not None
    return {
        "pool": pool.pool_id,
        "scope": pool.scope.scope_id,
        "ipam": pool.scope.ipam.ipam_id,
        "allocation": allocation.allocation_id,
    }


@pytest.mark.parametrize(("path", "segment_of"), ENDPOINTS, ids=[f"{p}:{s}" for p, s in ENDPOINTS])
@given(
    role=st.sampled_from(ROLES),
    query=st.lists(st.tuples(st.sampled_from(QUERY_KEYS), HOSTILE_TEXT), max_size=4),
    segment=st.one_of(st.none(), HOSTILE_TEXT),
)
def test_hostile_reads_answer_in_problem_details_and_change_nothing(
    callers, sim, path, segment_of, role, query, segment
):
    ids = some_ids()
    if segment is not None and segment_of is not None:
        ids[segment_of] = segment
    url = path.format(**{k: quote(v, safe="") for k, v in ids.items()})
    data: dict[str, list[str]] = {}
    for key, value in query:
        data.setdefault(key, []).append(value)
    before, calls = state(sim), sim.answered

    with CaptureQueriesContext(connection) as queries:
        response = callers[role].get(url, data)

    assert response.status_code < 500, (url, query)
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json", (url, query)
        assert response.json()["status"] == response.status_code
    assert state(sim) == before, "a GET changed AWS or the mirror"
    assert not [q["sql"] for q in queries if WRITE.match(q["sql"])], "a GET wrote"
    assert sim.answered == calls, "a GET called AWS"
