"""``Idempotency-Key``: a request sent again gets its first answer and changes nothing more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from api.models import IdempotentRequest
from tests.integration.api.conftest import problem
from tests.integration.api.test_pool_actions import aws_allocations, url
from tests.integration.app.conftest import pool_named

pytestmark = pytest.mark.django_db


def test_a_named_cidr_allocated_again_with_its_key_is_the_first_answer(editor, sim):
    """The rules would find the CIDR taken by the first request; the key's answer is kept."""
    pool = pool_named("us-east-1-prod")
    before = len(aws_allocations(sim, pool))
    body = {"cidr": "10.0.200.0/24", "description": "build 4711"}

    first = editor.post(url(pool, "allocate"), body, idempotency_key="build-4711")
    again = editor.post(url(pool, "allocate"), body, idempotency_key="build-4711")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert again.json() == first.json()
    assert len(aws_allocations(sim, pool)) == before + 1


def test_the_same_key_with_another_request_is_refused(editor, sim):
    pool = pool_named("us-east-1-prod")
    editor.post(url(pool, "allocate"), {"cidr": "10.0.201.0/24"}, idempotency_key="k")
    before = len(aws_allocations(sim, pool))

    other = editor.post(url(pool, "allocate"), {"cidr": "10.0.202.0/24"}, idempotency_key="k")

    body = problem(other, 422)
    assert (body["field"], body["code"]) == ("Idempotency-Key", "IdempotentParameterMismatch")
    assert len(aws_allocations(sim, pool)) == before


def test_a_refused_request_keeps_no_answer_so_it_can_be_mended(editor, sim):
    pool = pool_named("us-east-1-prod")
    refused = editor.post(url(pool, "allocate"), {"cidr": "10.9.0.0/24"}, idempotency_key="m")
    problem(refused, 422)

    mended = editor.post(url(pool, "allocate"), {"cidr": "10.0.203.0/24"}, idempotency_key="m")

    assert mended.status_code == 201, mended.content
    assert IdempotentRequest.objects.filter(key="m").count() == 1


def test_keys_are_each_users_own(editor, admin, sim):
    pool = pool_named("us-east-1-prod")
    body = {"cidr": "10.0.204.0/24"}
    editor.post(url(pool, "allocate"), body, idempotency_key="mine")

    theirs = admin.post(url(pool, "allocate"), body, idempotency_key="mine")

    assert "Idempotent-Replayed" not in theirs  # not the editor's answer
    assert IdempotentRequest.objects.filter(key="mine").count() == 1


def test_an_answer_is_kept_for_a_day(editor, sim):
    pool = pool_named("us-east-1-prod")
    editor.post(url(pool, "allocate"), {"netmask_length": 26}, idempotency_key="old")
    IdempotentRequest.objects.update(created_at=timezone.now() - timedelta(days=2))

    again = editor.post(url(pool, "allocate"), {"netmask_length": 27}, idempotency_key="old")

    assert "Idempotent-Replayed" not in again  # a new request; AWS judges the token afresh
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) in ([], ["old"])
