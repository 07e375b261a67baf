"""Applying a plan, seen and steered from the browser: start a run, watch its journal live,
pause, resume or cancel it. The work itself is the task worker's (:mod:`planning.runs`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from planning import runs
from planning.models import ApplyRun, ApplyStep, Plan
from planning.services import PlanError

VIEW = "planning.view_plan"
CHANGE = "planning.change_plan"
S = ApplyStep.Status
RUN_ACTIONS = {"pause": runs.pause, "resume": runs.resume, "cancel": runs.cancel}
# A node's badge: the first of its steps' statuses in this order.
NODE_STATUS_ORDER = (S.FAILED, S.HELD, S.CANCELLED, S.RUNNING, S.WAITING, S.PENDING, S.DONE)


@dataclass
class NodeProgress:
    key: str
    name: str
    steps: list[ApplyStep] = field(default_factory=list)

    @property
    def status(self) -> str:
        present = {s.status for s in self.steps}
        return next(status for status in NODE_STATUS_ORDER if status in present)

    @property
    def pool_id(self) -> str:
        return next((s.pool_aws_id for s in self.steps if s.pool_aws_id), "")

    @property
    def current(self) -> ApplyStep:
        """The step that says where the node is: the first not done, or the last."""
        return next((s for s in self.steps if s.status != S.DONE), self.steps[-1])

    @property
    def elapsed(self) -> float | None:
        started = [s.started_at for s in self.steps if s.started_at]
        if not started:
            return None
        ends = [s.finished_at for s in self.steps if s.finished_at]
        end = max(ends) if self.status in (S.DONE, S.FAILED, S.HELD) and ends else timezone.now()
        return (end - min(started)).total_seconds()


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None:
        return None
    return ((end or timezone.now()) - start).total_seconds()


def journal_context(run: ApplyRun) -> dict:
    """The run as the page shows it: progress, each node's badge and where it is."""
    steps = list(run.steps.order_by("order"))
    names = {s.step_id: s.node_name or s.node_key for s in steps}
    nodes: dict[str, NodeProgress] = {}
    for step in steps:
        nodes.setdefault(step.node_key, NodeProgress(step.node_key, step.node_name)).steps.append(
            step
        )
        step.waits_text = ", ".join(  # type: ignore[attr-defined]
            f"{names.get(w, w)} ({w.rsplit('/', 1)[-1]})" for w in step.waits_for
        )
    counts = dict.fromkeys(S.values, 0)
    for step in steps:
        counts[step.status] += 1
    return {
        "run": run,
        "plan": run.plan,
        "nodes": list(nodes.values()),
        "counts": counts,
        "total": len(steps),
        "finished": counts[S.DONE],
        "elapsed": _seconds(run.started_at, run.finished_at),
        "stalled": runs.is_stalled(run),
        "failed_steps": [s for s in steps if s.status == S.FAILED],
    }


def run_summary(run: ApplyRun | None) -> dict:
    """What the plan's page shows of its latest run: its status and counts of steps."""
    if run is None:
        return {"run": None}
    counts = dict(run.steps.order_by().values_list("status").annotate(n=Count("pk")))
    total = sum(counts.values())
    return {"run": run, "counts": counts, "total": total, "finished": counts.get(S.DONE, 0)}


def _run(plan_id: int, run_id: int) -> ApplyRun:
    return get_object_or_404(
        ApplyRun.objects.select_related("plan", "plan__ipam", "created_by"),
        pk=run_id,
        plan_id=plan_id,
    )


@permission_required(CHANGE, raise_exception=True)
@require_POST
def plan_apply(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Start applying the plan; a second click finds the run the first started."""
    plan = get_object_or_404(Plan, pk=plan_id)
    try:
        run = runs.start(plan, user=request.user)
    except PlanError as err:
        active = runs.active_run(plan)
        if active is None:
            messages.error(request, str(err))
            return _go(request, reverse("plan_detail", args=[plan.pk]))
        run = active
    return _go(request, reverse("plan_run", args=[plan.pk, run.pk]))


def _go(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@permission_required(VIEW, raise_exception=True)
@require_GET
def run_detail(request: HttpRequest, plan_id: int, run_id: int) -> HttpResponse:
    """The run's journal; htmx polls the ``journal`` partial while the run is active."""
    run = _run(plan_id, run_id)
    part = request.GET.get("part")
    if request.htmx and part == "card":
        summary = run_summary(run)
        return render(request, "planning/_apply_card.html", {"plan": run.plan, **summary})
    if request.htmx and part == "journal":
        return render(request, "planning/plan_run.html#journal", journal_context(run))
    return render(request, "planning/plan_run.html", journal_context(run))


@permission_required(CHANGE, raise_exception=True)
@require_POST
def run_action(request: HttpRequest, plan_id: int, run_id: int, action: str) -> HttpResponse:
    if action not in RUN_ACTIONS:
        raise Http404("No such action.")
    run = RUN_ACTIONS[action](_run(plan_id, run_id))
    if request.htmx:
        return render(request, "planning/plan_run.html#journal", journal_context(run))
    return redirect("plan_run", plan_id, run.pk)
