"""Hostile requests to the pool writes: never a 5xx, and nothing changed by a refused one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pools.models import IpamPool, IpamPoolAllocation, IpamPoolCidr, PoolCreation
from tests.integration.app import conftest as app

# the app's tests' fixtures: no retry delay, botocore's model read once
no_retry_delay, shared_service_models = app.no_retry_delay, app.shared_service_models

pytestmark = pytest.mark.django_db

FIELDS = [
    "cidr",
    "netmask_length",
    "allowed_cidrs",
    "disallowed_cidrs",
    "description",
    "allocation_id",
    "tags",
    "allocation_resource_tags",
    "auto_import",
    "allocation_min_netmask_length",
    "allocation_max_netmask_length",
    "allocation_default_netmask_length",
    "clear_default_netmask_length",
    "scope",
    "source_pool",
    "locale",
    "first_cidr",
]
ENDPOINTS = [
    ("post", "provision/"),
    ("post", "allocate/"),
    ("post", "allocate/preview/"),
    ("post", "release/"),
    ("post", "deprovision/"),
    ("put", "tags/"),
    ("patch", ""),
    ("delete", ""),
]
hostile_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["\x00", "²", "10.0.0.0/8", "10.0.2.0/24", "fd00::/8", "x" * 10_000, "aws:x", "Name"]
    ),
)
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([10**4000, -1, 0, 24, 26, 129]),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)
value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=8,
)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS) | hostile_text, value, max_size=5),
    value,
)


def state() -> tuple[Any, ...]:
    """What a refused request must leave as it was."""
    return (
        sorted(
            IpamPool.objects.values_list(
                "pool_id",
                "description",
                "state",
                "tags",
                "allocation_resource_tags",
                "allocation_min_netmask_length",
                "allocation_max_netmask_length",
                "allocation_default_netmask_length",
                "auto_import",
                "missing_since",
            )
        ),
        sorted(IpamPoolCidr.objects.values_list("cidr_id", "state", "missing_since")),
        sorted(IpamPoolAllocation.objects.values_list("allocation_id", "missing_since")),
        PoolCreation.objects.count(),
    )


@given(
    endpoint=st.sampled_from(ENDPOINTS),
    target=st.sampled_from(["us-east-1-prod", "corporate", "us-west-2", "other-id", "bogus"]),
    body=bodies,
    key=st.one_of(st.none(), st.sampled_from(["k", "", "é", "x" * 65]), st.text(max_size=8)),
    cascade=st.one_of(st.none(), st.sampled_from(["true", "false", "²", "1" * 5000])),
)
def test_hostile_requests_never_fail_and_a_refusal_changes_nothing(
    admin, endpoint, target, body, key, cascade
):
    method, action = endpoint
    if target == "other-id":
        pool_id = IpamPoolAllocation.objects.first().allocation_id  # another kind's id
    elif target == "bogus":
        pool_id = "ipam-pool-0123456789abcdef0"
    else:
        pool_id = IpamPool.objects.get(name=target).pool_id
    path = f"/api/pools/{pool_id}/{action}"
    if cascade is not None:
        path += f"?cascade={cascade}"
    headers = {"HTTP_AUTHORIZATION": f"Bearer {admin.token}"}
    if key is not None and "\n" not in key and "\r" not in key:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    try:
        data = json.dumps(body)
    except ValueError:  # a number too long for JSON's encoder here: sent as text
        data = '{"netmask_length": 1%s}' % ("0" * 5000)
    before = state()

    answer = getattr(admin.client, method)(path, data, content_type="application/json", **headers)

    assert answer.status_code < 500, answer.content[:500]
    if answer.status_code >= 400:
        assert answer["Content-Type"] == "application/problem+json"
        assert state() == before, answer.content[:500]
