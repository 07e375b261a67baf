"""POST /api/pools/: the pool form's rules, CreateIpamPool once per Idempotency-Key, the first
CIDR provisioned by the task that follows the pool, and AWS's refusals as problems."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_tasks import task_backends

from pools.models import IpamPool, PoolCreation
from tests.integration.api.conftest import codes, problem
from tests.integration.app import conftest as app

# the app's tests' fixtures: the requests sent to AWS, no retry delay, botocore's model once
sent, no_retry_delay, shared_service_models = (
    app.sent,
    app.no_retry_delay,
    app.shared_service_models,
)

pytestmark = pytest.mark.django_db
LONG = "k" * 129


def body(scope: Any, **fields: Any) -> dict[str, Any]:
    return {"scope": scope.scope_id, "address_family": "ipv4", **fields}


def kept_tasks(name: str) -> list[Any]:
    return [r for r in task_backends["default"].results if r.task.name == name]


def test_a_pool_is_created_and_its_first_cidr_provisioned_by_the_worker(
    editor, private_scope, sent, worker
):
    answer = editor.post(
        "/api/pools/",
        body(private_scope, description="api pool", locale="us-east-1", first_cidr="172.30.0.0/16"),
    )

    assert answer.status_code == 201, answer.content
    made = answer.json()
    assert answer["Location"] == f"/api/pools/{made['pool_id']}/"
    assert "Idempotent-Replayed" not in answer
    assert (made["description"], made["locale"], made["cidrs"]) == ("api pool", "us-east-1", [])
    pool = IpamPool.objects.get(pool_id=made["pool_id"])
    (follow,) = kept_tasks("follow_pool")
    assert follow.args[0] == pool.pk
    assert pool.follow_task_id == str(follow.id)
    assert sent.count("CreateIpamPool") == 1

    worker()

    assert editor.get(answer["Location"]).json()["cidrs"] == ["172.30.0.0/16"]


def test_the_same_key_twice_creates_one_pool_and_replays_the_first(editor, private_scope, sent):
    data = body(private_scope, description="once")

    first = editor.post("/api/pools/", data, idempotency_key="key-1")
    second = editor.post("/api/pools/", data, idempotency_key="key-1")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second["Idempotent-Replayed"] == "true"
    assert second["Location"] == first["Location"]
    assert second.json()["pool_id"] == first.json()["pool_id"]
    assert sent.count("CreateIpamPool") == 1
    assert len(kept_tasks("follow_pool")) == 1
    assert IpamPool.objects.filter(description="once").count() == 1


def test_the_same_key_with_other_values_is_refused(editor, private_scope, sent):
    editor.post("/api/pools/", body(private_scope, description="one"), idempotency_key="k-2")

    answer = editor.post(
        "/api/pools/", body(private_scope, description="two"), idempotency_key="k-2"
    )

    found = problem(answer, 422)
    assert found["code"] == "IdempotentParameterMismatch"
    assert sent.count("CreateIpamPool") == 1
    assert not IpamPool.objects.filter(description="two").exists()


@pytest.mark.parametrize("key", ["", "with space", "k" * 65, "é", "tab\there"])
def test_an_idempotency_key_that_no_client_token_can_be_is_refused(
    editor, private_scope, sent, key
):
    answer = editor.post("/api/pools/", body(private_scope), idempotency_key=key)

    assert codes(problem(answer, 400)) == {"Idempotency-Key": "idempotency_key_invalid"}
    assert sent.actions == []


RULES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "",
        {"allocation_min_netmask_length": 28, "allocation_max_netmask_length": 24},
        "allocation_min_netmask_length",
        "netmask_min_gt_max",
    ),
    (
        "",
        {"allocation_min_netmask_length": 33},
        "allocation_min_netmask_length",
        "netmask_out_of_range",
    ),
    ("", {"locale": "ap-south-1"}, "locale", "locale_not_operating"),
    ("", {"locale": "mars-1"}, "locale", "locale_invalid"),
    ("us-east-1-prod", {"locale": "us-west-2"}, "locale", "locale_differs_from_source"),
    ("", {"first_cidr": "banana"}, "first_cidr", "cidr_invalid"),
    ("", {"first_cidr": "10.0.0.1/16"}, "first_cidr", "cidr_host_bits_set"),
    ("", {"first_cidr": "10.1.0.0/16"}, "first_cidr", "cidr_overlaps_top_level"),
    ("us-east-1-prod", {"first_cidr": "10.0.1.0/24"}, "first_cidr", "cidr_overlaps_allocation"),
    (
        "us-east-1-prod",
        {"first_netmask_length": 30},
        "first_netmask_length",
        "cidr_netmask_outside_pool_rules",
    ),
    ("", {"tags": {LONG: "x"}}, f"tags.{LONG}", "tag_key_too_long"),
    ("", {"tags": {"Name": "v" * 257}}, "tags.Name", "tag_value_too_long"),
    ("", {"tags": {"aws:owner": "me"}}, "tags.aws:owner", "tag_key_reserved"),
    ("", {"tags": {f"k{n}": "" for n in range(51)}}, "tags", "too_many_tags"),
    (
        "",
        {"allocation_resource_tags": {"aws:x": "y"}},
        "allocation_resource_tags.aws:x",
        "tag_key_reserved",
    ),
    ("", {"description": "bad\x01text"}, "description", "text_not_xml_safe"),
    ("", {"source_pool": "ipam-pool-0123456789abcdef0"}, "source_pool", "invalid_choice"),
]


@pytest.mark.parametrize(("source", "fields", "field", "code"), RULES)
def test_a_broken_rule_is_refused_on_its_field_before_aws_is_asked(
    editor, private_scope, sent, source, fields, field, code
):
    if source:
        fields = {"source_pool": IpamPool.objects.get(name=source).pool_id, **fields}

    answer = editor.post("/api/pools/", body(private_scope, **fields), idempotency_key="rules")

    found = problem(answer, 422)
    assert found["type"] == "urn:ipamui:problem:rule-violation"
    assert codes(found).get(field) == code, found["errors"]
    assert sent.actions == []
    assert not PoolCreation.objects.exists()


def test_an_unknown_scope_is_a_rule_of_the_form(editor, demo, sent):
    answer = editor.post("/api/pools/", {"scope": "ipam-scope-0123456789abcdef0"})

    assert codes(problem(answer, 422)) == {"scope": "invalid_choice"}


@pytest.mark.parametrize(
    "data",
    [
        [],
        "scope",
        {"address_family": "ipv4"},
        {"scope": ["x"]},
        {"scope": "s", "auto_import": "perhaps"},
        {"scope": "s", "allocation_min_netmask_length": 10**4000},
        {"scope": "s", "allocation_min_netmask_length": "²"},
        {"scope": "s", "description": "d" * 10_000},
        {"scope": "s", "tags": ["a"]},
        {"scope": "s", "tags": {"a\x00b": "v"}},
        {"scope": "s", "address_family": "ipv5"},
    ],
)
def test_a_body_of_the_wrong_shape_is_a_400(editor, demo, sent, data):
    problem(editor.post("/api/pools/", data), 400)
    assert sent.actions == []


def test_a_number_of_5000_digits_is_a_400(editor, demo, sent):
    raw = '{"scope": "s", "allocation_min_netmask_length": 1%s}' % ("0" * 5000)
    answer = editor.client.post(
        "/api/pools/",
        raw,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {editor.token}",
    )

    problem(answer, 400)
    assert sent.actions == []


def test_aws_refusing_is_a_422_with_its_code(editor, private_scope, sim):
    sim.config.max_pools_per_scope = 11

    found = problem(editor.post("/api/pools/", body(private_scope)), 422)

    assert found["type"] == "urn:ipamui:problem:aws-refused"
    assert found["code"] == "LimitExceeded"


def test_aws_denying_the_call_is_a_403_of_aws(editor, private_scope, sim):
    sim.faults.update({"deny_actions": {"CreateIpamPool"}})

    found = problem(editor.post("/api/pools/", body(private_scope, description="x")), 403)

    assert (found["type"], found["code"]) == (
        "urn:ipamui:problem:aws-not-authorised",
        "UnauthorizedOperation",
    )
    assert not IpamPool.objects.filter(description="x").exists()


@pytest.mark.parametrize("fault", [{"unreachable": True}, {"throttle_rate": 1.0}])
def test_aws_out_of_reach_is_a_503_and_the_same_key_then_creates_one_pool(
    editor, private_scope, sim, fault
):
    data = body(private_scope, description="retry me")
    sim.faults.update(fault)

    answer = editor.post("/api/pools/", data, idempotency_key="retry")

    assert problem(answer, 503)["type"] == "urn:ipamui:problem:aws-unavailable"
    assert answer["Retry-After"] == "5"
    sim.faults.update({"unreachable": False, "throttle_rate": 0.0})
    assert editor.post("/api/pools/", data, idempotency_key="retry").status_code == 201
    assert IpamPool.objects.filter(description="retry me").count() == 1


@pytest.mark.parametrize("role", ["viewer", "nobody"])
def test_who_may_not_create_is_refused(api_as, private_scope, sent, role):
    problem(api_as(role).post("/api/pools/", body(private_scope)), 403)
    assert sent.actions == []


def test_anonymous_is_a_401(private_scope, sent):
    answer = Client().post("/api/pools/", body(private_scope), content_type="application/json")

    problem(answer, 401)
    assert sent.actions == []
