"""The teardown page: the reverse plan of a plan's bound nodes, shown as the diff page shows
a diff, and the form that starts it (a run of kind ``teardown``).

GET changes nothing (``?cascade=1`` previews the teardown with Cascade); POST asks for the
plan's name, as a confirmation, before anything is deleted in AWS.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from planning import runs
from planning.diff import Diff
from planning.models import ApplyRun, Plan
from planning.selectors import load, world
from planning.services import PlanError
from planning.teardown import reverse
from planning.views import diff_context

CHANGE = "planning.change_plan"
YES = frozenset({"1", "on", "true", "yes"})


class TeardownForm(forms.Form):
    confirm = forms.CharField(label="Type the plan's name to confirm", max_length=300, strip=False)
    cascade = forms.BooleanField(required=False, label="Cascade")

    def __init__(self, *args: Any, plan: Plan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"]
        if value != self.plan.name:
            raise forms.ValidationError("That is not the plan's name; nothing was deleted.")
        return value


def _cascade(request: HttpRequest) -> bool:
    source = request.POST if request.method == "POST" else request.GET
    return source.get("cascade", "").strip().lower() in YES


def _context(
    plan: Plan, names: dict[str, str], result: Diff, cascade: bool, form: TeardownForm
) -> dict[str, Any]:
    return {"plan": plan, "cascade": cascade, "form": form, **diff_context(result, names)}


@permission_required(CHANGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def plan_teardown(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The reverse plan, and the form that applies it."""
    plan = get_object_or_404(
        Plan.objects.select_related("ipam", "scope", "parent_pool"), pk=plan_id
    )
    cascade = _cascade(request)
    status = 200
    if request.method == "POST":
        form = TeardownForm(request.POST, plan=plan)
        if form.is_valid():
            try:
                runs.start(plan, user=request.user, kind=ApplyRun.Kind.TEARDOWN, cascade=cascade)
            except PlanError as err:
                messages.error(request, str(err))
                status = 409
            else:
                messages.success(
                    request,
                    "The teardown has started" + (" (with Cascade)." if cascade else "."),
                )
                return redirect("plan_detail", plan.pk)
        else:
            status = 400
    else:
        form = TeardownForm(plan=plan, initial={"cascade": cascade})
    spec, _ = load(plan)
    result = reverse(spec, world(plan, spec), cascade=cascade)
    return render(
        request,
        "planning/plan_teardown.html",
        _context(plan, {n.key: n.name for n in spec.nodes}, result, cascade, form),
        status=status,
    )
