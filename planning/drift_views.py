"""The drift panel's actions: look again, adopt AWS's value, apply again, ignore with a note.

Every action is a POST (CSRF-protected). With htmx it answers the panel to swap in (with
the error in it, if the action was refused); without JavaScript it redirects to the plan's
page, or answers that page with the error and a 400.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from planning import drift_services, runs, views
from planning.models import Plan
from planning.services import PlanError

CHANGE = views.CHANGE
PANEL = "planning/_drift.html"


def _plan(plan_id: int) -> Plan:
    return get_object_or_404(
        Plan.objects.select_related("ipam", "scope", "parent_pool", "created_by"), pk=plan_id
    )


def _page_url(plan: Plan) -> str:
    return reverse("plan_detail", args=[plan.pk]) + "#drift"


def _done(request: HttpRequest, plan: Plan, notice: str) -> HttpResponse:
    if request.htmx:
        plan = _plan(plan.pk)
        return render(request, PANEL, {"plan": plan, "drift_notice": notice})
    messages.success(request, notice)
    return redirect(_page_url(plan))


def _refused(request: HttpRequest, plan: Plan, error: PlanError) -> HttpResponse:
    """The action was refused: the panel with why (htmx swaps only a 2xx in), else the
    plan's page with why and a 400."""
    plan = _plan(plan.pk)
    message = str(error)
    if request.htmx:
        return render(request, PANEL, {"plan": plan, "drift_error": message})
    context = views._context(request, views._load(plan), notice=message, notice_kind="error")
    return render(request, "planning/plan_detail.html", context, status=400)


@permission_required(CHANGE, raise_exception=True)
@require_POST
def drift_refresh(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Compare the plan with the mirror again (it is as AWS was at the last sync)."""
    plan = _plan(plan_id)
    rows = drift_services.refresh(plan)
    count = sum(1 for row in rows if not row.get("ignored"))
    return _done(request, plan, f"Looked again: {count} drift item{'s' if count != 1 else ''}.")


@permission_required(CHANGE, raise_exception=True)
@require_POST
def drift_adopt(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Take AWS's side of one item into the plan."""
    plan = _plan(plan_id)
    try:
        notice = drift_services.adopt(plan, request.POST.get("item", ""), user=request.user)
    except PlanError as error:
        return _refused(request, plan, error)
    return _done(request, plan, notice)


@permission_required(CHANGE, raise_exception=True)
@require_POST
def drift_reapply(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Apply the plan again, so AWS has the plan's values back: to the plan's page, where the
    run shows."""
    plan = _plan(plan_id)
    try:
        runs.reapply(plan, user=request.user)
    except PlanError as error:
        return _refused(request, plan, error)
    messages.success(request, "Applying the plan again.")
    url = reverse("plan_detail", args=[plan.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@permission_required(CHANGE, raise_exception=True)
@require_POST
def drift_ignore(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Leave one item as it is, with a note saying why."""
    plan = _plan(plan_id)
    key = request.POST.get("item", "")
    try:
        drift_services.ignore(plan, key, request.POST.get("note", ""), user=request.user)
    except PlanError as error:
        return _refused(request, plan, error)
    return _done(request, plan, "Ignored: it stays listed, no longer counted.")
