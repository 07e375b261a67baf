"""The apply's pages: start, the live journal, pause / resume / cancel; who may do what, and
hostile input answered without a 5xx or a change."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from planning.models import ApplyRun, ApplyStep, Plan
from tests.integration.app.test_fuzz import HOSTILE_TEXT

from . import test_plan_views
from .conftest import node

clients = test_plan_views.clients
pytestmark = pytest.mark.django_db
WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


@pytest.fixture
def small_plan(make_plan) -> Plan:
    return make_plan(
        "small",
        nodes=[
            node("top", "top", prefix_length=16, locale="us-east-1"),
            node("kid", "kid", "top", prefix_length=20),
        ],
    )


@pytest.fixture
def started(small_plan, clients, django_capture_on_commit_callbacks) -> ApplyRun:
    """A run started by the editor through the page, kept queued (no worker has run)."""
    response = clients["editor"].post(reverse("plan_apply", args=[small_plan.pk]))
    assert response.status_code == 302
    return ApplyRun.objects.get(plan=small_plan)


def test_the_editor_starts_a_run_and_lands_on_its_journal(started, small_plan, clients):
    response = clients["editor"].get(reverse("plan_run", args=[small_plan.pk, started.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="run-progress"' in body
    assert "<strong>0</strong> of 4 steps done" in body
    assert 'hx-trigger="every 1s"' in body  # polled while active
    assert "waits for top (create), top (provision)" in body


def test_a_double_click_finds_the_first_run(started, small_plan, clients):
    response = clients["editor"].post(reverse("plan_apply", args=[small_plan.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("plan_run", args=[small_plan.pk, started.pk])
    assert ApplyRun.objects.filter(plan=small_plan).count() == 1


def test_a_viewer_watches_but_does_not_steer(started, small_plan, clients):
    viewer = clients["viewer"]
    page = viewer.get(reverse("plan_run", args=[small_plan.pk, started.pk]))
    assert page.status_code == 200
    assert b">Pause<" not in page.content
    for action in ("pause", "cancel"):
        url = reverse("plan_run_action", args=[small_plan.pk, started.pk, action])
        assert viewer.post(url).status_code == 403
    assert viewer.post(reverse("plan_apply", args=[small_plan.pk])).status_code == 403
    started.refresh_from_db()
    assert started.status == ApplyRun.Status.QUEUED


def test_pause_resume_cancel_through_the_page(started, small_plan, clients):
    editor = clients["editor"]

    def act(action: str) -> str:
        url = reverse("plan_run_action", args=[small_plan.pk, started.pk, action])
        response = editor.post(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        started.refresh_from_db()
        return started.status

    assert act("pause") == ApplyRun.Status.PAUSED
    assert act("resume") == ApplyRun.Status.QUEUED
    assert act("cancel") == ApplyRun.Status.CANCELLED
    assert not started.steps.exclude(status=ApplyStep.Status.CANCELLED).exists()
    small_plan.refresh_from_db()
    assert small_plan.status == Plan.Status.DRAFT


def test_a_plan_with_errors_is_not_started(make_plan, clients):
    plan = make_plan("bad", nodes=[node("x", "x", prefix_length=16, locale="xx-nowhere-9")])
    assert plan.error_count
    response = clients["editor"].post(reverse("plan_apply", args=[plan.pk]), follow=True)
    assert response.status_code == 200
    assert not ApplyRun.objects.filter(plan=plan).exists()
    assert b"Nothing can be applied" in response.content


def test_the_plan_page_shows_the_latest_run(started, small_plan, clients):
    page = clients["viewer"].get(reverse("plan_detail", args=[small_plan.pk]))
    assert b'id="apply-card"' in page.content
    assert b"Watch it live" in page.content


@given(
    role=st.sampled_from(["anonymous", "nobody", "viewer", "editor"]),
    run_id=st.one_of(st.sampled_from(["0", "9" * 5000, "99999999999999999999"]), HOSTILE_TEXT),
    action=st.one_of(st.sampled_from(["pause", "resume", "cancel", "delete"]), HOSTILE_TEXT),
    part=st.one_of(st.sampled_from(["journal", "card"]), HOSTILE_TEXT),
    htmx=st.booleans(),
)
def test_hostile_requests_answer_without_5xx_and_gets_write_nothing(
    clients, started, small_plan, role, run_id, action, part, htmx
):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    client = clients[role]
    base = f"/plans/{small_plan.pk}/runs/"
    with CaptureQueriesContext(connection) as queries:
        got = client.get(f"{base}{run_id}/", {"part": part}, **headers)
        mine = client.get(f"{base}{started.pk}/", {"part": part}, **headers)
    assert got.status_code < 500
    assert mine.status_code < 500
    assert not [q["sql"] for q in queries if WRITE.match(q["sql"])], "a GET wrote"
    posted = client.post(f"{base}{run_id}/{action}/", **headers)
    assert posted.status_code < 500
    other = client.post(f"/plans/{run_id}/apply/", **headers)
    assert other.status_code < 500


def test_runs_are_read_in_the_admin(started, admin_client):
    listing = admin_client.get(reverse("admin:planning_applyrun_changelist"))
    assert listing.status_code == 200
    assert b"small" in listing.content
    page = admin_client.get(reverse("admin:planning_applyrun_change", args=[started.pk]))
    assert page.status_code == 200
    assert b"top/create" in page.content
