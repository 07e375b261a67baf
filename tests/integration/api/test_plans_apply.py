"""Applying plans through the API: start a run (and its refusals), follow its journal, pause,
resume and cancel it; AWS refusing a call shows in the journal."""

from __future__ import annotations

import pytest
from django.db import reset_queries
from django.test import Client

from planning.models import ApplyRun, ApplyStep, Plan

from . import test_plans
from .conftest import codes, problem
from .test_plans import node, state, url

# The plans of test_plans.py, as fixtures of this module too.
make_plan = test_plans.make_plan
plan = test_plans.plan

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def apply_inline(settings) -> None:
    """The apply engine sends its calls itself, inside the test's transaction."""
    settings.IPAM_APPLY_THREADS = 0
    settings.IPAM_APPLY_DRIVERS = 1
    settings.IPAM_APPLY_POLL = 0.05


@pytest.fixture
def start(editor, django_capture_on_commit_callbacks):
    """``start(plan)``: the editor's POST of a run, its tasks queued for the worker."""

    def go(plan: Plan, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            return editor.post(url(plan, "runs"), **headers)

    return go


def test_apply_a_plan_and_follow_its_journal(editor, viewer, plan, start, worker):
    answer = start(plan)
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert answer["Location"] == url(plan, "runs", str(body["id"]))
    assert body["status"] == "queued"
    assert body["total"] == 4
    assert [s["action"] for s in body["steps"]][:2] == ["CreateIpamPool", "ProvisionIpamPoolCidr"]
    assert viewer.get(url(plan)).json()["status"] == "applying"

    worker()
    journal = viewer.get(answer["Location"]).json()
    assert journal["status"] == "done"
    assert journal["counts"]["done"] == 4
    create = next(s for s in journal["steps"] if s["step_id"] == "top/create")
    assert create["status"] == "done"
    assert create["pool_id"].startswith("ipam-pool-")
    assert create["tries"] >= 1
    assert create["node"] == "top"
    detail = viewer.get(url(plan)).json()
    assert detail["status"] == "applied"
    assert detail["latest_run"]["id"] == body["id"]
    assert detail["latest_run"]["counts"]["done"] == 4
    listed = viewer.get(url(plan, "runs")).json()["results"]
    assert [r["id"] for r in listed] == [body["id"]]
    assert listed[0]["total"] == 4
    nodes = {n["key"]: n for n in viewer.get(url(plan, "nodes")).json()["results"]}
    assert nodes["top"]["pool_id"] == create["pool_id"]

    again = problem(start(plan), 409)
    assert again["code"] == "nothing"


def test_a_second_start_is_refused_while_a_run_is_active(plan, start):
    first = start(plan).json()
    before = state()
    answer = start(plan)
    assert problem(answer, 409)["code"] in ("run_active", "plan_not_editable")
    assert answer["Location"] == url(plan, "runs", str(first["id"]))
    assert state() == before


def test_a_plan_with_errors_is_not_started(make_plan, start):
    bad = make_plan("bad", nodes=[node("x", "x", prefix_length=16, locale="xx-nowhere-9")])
    before = state()
    found = codes(problem(start(bad), 422))
    assert set(found.values()) <= {"plan_has_errors", "plan_blocked"}
    assert state() == before


def test_an_archived_plan_is_not_started(plan, start):
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.ARCHIVED)
    assert problem(start(plan), 409)["code"] == "plan_archived"


def test_if_match_on_start(plan, start):
    assert codes(problem(start(plan, **{"If-Match": "0"}), 412)) == {"If-Match": "version_mismatch"}
    assert not ApplyRun.objects.exists()
    assert start(plan, **{"If-Match": str(plan.version)}).status_code == 202


def test_pause_resume_cancel(editor, plan, start, worker):
    run = start(plan).json()
    base = url(plan, "runs", str(run["id"]))
    paused = editor.post(base + "pause/")
    assert paused.status_code == 200, paused.content
    assert paused.json()["status"] == "paused"
    worker()  # the driver sees the pause and sends nothing
    assert editor.get(base).json()["counts"]["pending"] == 4
    assert editor.post(base + "resume/").json()["status"] in ("queued", "running")
    cancelled = editor.post(base + "cancel/").json()
    assert cancelled["status"] == "cancelled"
    assert {s["status"] for s in cancelled["steps"]} == {"cancelled"}
    assert editor.post(base + "cancel/").status_code == 200  # as it is
    assert problem(editor.post(base + "pause/"), 409)["code"] == "run_finished"
    assert problem(editor.post(base + "resume/"), 409)["code"] == "run_finished"
    assert editor.get(url(plan)).json()["status"] == "draft"


def test_aws_refusing_a_call_shows_in_the_journal(editor, plan, start, worker, sim):
    run = start(plan).json()
    sim.faults.update({"fail_next_creates": 1})
    worker()
    journal = editor.get(url(plan, "runs", str(run["id"]))).json()
    assert journal["status"] == "failed"
    failed = next(s for s in journal["steps"] if s["status"] == "failed")
    assert failed["error_code"] == "create-failed"
    assert failed["error_message"]
    assert {s["status"] for s in journal["steps"] if s["node"] == "kid"} == {"held"}


def test_runs_need_the_right_people(api_as, viewer, plan, start):
    run = start(plan).json()
    base = url(plan, "runs", str(run["id"]))
    before = state()
    for caller in (viewer, api_as("nobody")):
        problem(caller.post(url(plan, "runs")), 403)
        for action in ("pause", "resume", "cancel"):
            problem(caller.post(base + f"{action}/"), 403)
    problem(api_as("nobody").get(base), 403)
    anonymous = Client()
    problem(anonymous.get(base), 401)
    problem(anonymous.post(base + "pause/"), 401)
    assert viewer.get(base).status_code == 200
    assert state() == before


@pytest.mark.parametrize("path", ["runs/999999999/", "runs/999999999/pause/", "runs/0/cancel/"])
def test_runs_not_there(editor, plan, path):
    answer = editor.post(url(plan) + path) if "/" in path[5:-1] else editor.get(url(plan) + path)
    problem(answer, 404)


def test_another_plans_run_is_not_found(editor, plan, make_plan, start):
    run = start(plan).json()
    other = make_plan("other", space="10.0.0.0/16")
    problem(editor.get(url(other, "runs", str(run["id"]))), 404)
    problem(editor.post(url(other, "runs", str(run["id"]), "cancel")), 404)
    assert ApplyRun.objects.get(pk=run["id"]).status == ApplyRun.Status.QUEUED


def test_the_run_list_costs_the_same_for_more_runs(
    editor, viewer, plan, start, django_assert_max_num_queries
):
    first = start(plan).json()
    editor.post(url(plan, "runs", str(first["id"]), "cancel"))
    reset_queries()  # a full query log would show none
    with django_assert_max_num_queries(20) as few:
        assert viewer.get(url(plan, "runs")).status_code == 200
    budget = len(few.captured_queries)
    for _ in range(4):
        run = start(plan).json()
        editor.post(url(plan, "runs", str(run["id"]), "cancel"))
    reset_queries()  # a full query log would show none
    with django_assert_max_num_queries(budget):
        answer = viewer.get(url(plan, "runs"))
    assert len(answer.json()["results"]) == 5
    assert ApplyStep.objects.count() == 20
