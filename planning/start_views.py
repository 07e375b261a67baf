"""Starting a plan: empty, from the template wizard, or as a clone of live pools.

Plain function views. A POST with ``_live`` from htmx is live validation: it renders the
form's error regions (and the wizard's preview) out of band and writes nothing. Any other POST
creates the plan and goes to its page, or shows the form again with each refusal next to its
field, the input kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from planning import checks, clone, services, wizard
from planning.findings import ordered
from planning.models import Plan
from planning.selectors import spec_of, world
from planning.spec import Tree
from planning.start_forms import (
    CloneForm,
    PlanPlaceForm,
    WizardForm,
    drop_premature_errors,
    place_initial,
    with_extra_level,
    wizard_data,
)

ADD = "planning.add_plan"
PREVIEW_ROWS = 300  # rows of the wizard's preview; the counts cover every node
CLONE_ROWS = 300  # pools listed before a clone
FINDINGS_SHOWN = 12
# A change in one of these fields re-renders the parts of the form that depend on it.
PLACE_FIELDS = {"ipam", "scope", "address_family"}


def _is_live(request: HttpRequest) -> bool:
    return bool(request.htmx) and "_live" in request.POST


def _parts(request: HttpRequest) -> set[str]:
    trigger = request.POST.get("_live", "")
    return {"place"} if trigger in PLACE_FIELDS else set()


def _create(form: Any, create: Callable[[], services.Outcome]) -> Plan | None:
    """The new plan; None when its name was taken meanwhile (said next to the name)."""
    try:
        return create().plan
    except IntegrityError:
        form.add_name_taken()
        return None


# --- an empty plan ---------------------------------------------------------------------------


@permission_required(ADD, raise_exception=True)
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest) -> HttpResponse:
    """The four ways to start a plan, and the empty plan's form."""
    if request.method == "GET":
        return _new_page(request, PlanPlaceForm(initial=place_initial(request.GET)))
    form = PlanPlaceForm(request.POST)
    if _is_live(request):
        form.is_valid()
        drop_premature_errors(form)
        context = {"form": form, "parts": _parts(request)}
        return render(request, "planning/plan_new.html#new-live", context)
    if form.is_valid():
        plan = _create(form, lambda: services.plan_create(**form.place(), user=request.user))
        if plan is not None:
            messages.success(request, f"Created the plan {plan.name}.")
            return redirect("plan_detail", plan_id=plan.pk)
    return _new_page(request, form)


def _new_page(request: HttpRequest, form: PlanPlaceForm) -> HttpResponse:
    return render(request, "planning/plan_new.html", {"form": form})


# --- the template wizard -----------------------------------------------------------------------


@permission_required(ADD, raise_exception=True)
@require_http_methods(["GET", "POST"])
def plan_wizard(request: HttpRequest) -> HttpResponse:
    """A plan from a template: levels top down, previewed packed as the user types."""
    if request.method == "GET":
        key = request.GET.get("preset", "")
        preset = wizard.PRESETS.get(key) or wizard.PRESETS[wizard.DEFAULT_PRESET]
        form = WizardForm(wizard_data(preset, place_initial(request.GET)))
        _quiet(form)
        return _wizard_page(request, form, preset=preset.key)
    if request.POST.get("_action") == "add_level":
        form = WizardForm(with_extra_level(request.POST))
        _quiet(form)
        if request.htmx:
            context = {"form": form, "preview": wizard_preview(form), "oob": True}
            return render(request, "planning/plan_wizard.html#wizard-levels-live", context)
        return _wizard_page(request, form)
    form = WizardForm(request.POST)
    if _is_live(request):
        _quiet(form)
        context = {"form": form, "preview": wizard_preview(form), "parts": _parts(request)}
        return render(request, "planning/plan_wizard.html#wizard-live", context)
    if form.is_valid():
        template = form.template()
        assert template is not None
        nodes = wizard.expand(template)
        plan = _create(
            form, lambda: services.plan_create(**form.place(), nodes=nodes, user=request.user)
        )
        if plan is not None:
            messages.success(request, f"Created the plan {plan.name} with {len(nodes)} nodes.")
            return redirect("plan_detail", plan_id=plan.pk)
    return _wizard_page(request, form)


def _quiet(form: WizardForm) -> None:
    """The form judged, without "required" on what is not typed yet."""
    form.is_valid()
    drop_premature_errors(form)
    for level in form.levels.forms:
        drop_premature_errors(level)


def _wizard_page(request: HttpRequest, form: WizardForm, preset: str = "") -> HttpResponse:
    context = {
        "form": form,
        "preview": wizard_preview(form),
        "presets": wizard.PRESETS.values(),
        "preset": preset,
    }
    return render(request, "planning/plan_wizard.html", context)


def wizard_preview(form: WizardForm) -> wizard.Preview | None:
    """The template expanded and packed as :func:`services.plan_create` would pack it (the
    live pools, the ledger), judged by the whole-plan checks; None until the template and the
    plan's place are sound. Reads only."""
    template = form.template()
    data = getattr(form, "cleaned_data", {})
    ipam, scope = data.get("ipam"), data.get("scope")
    if template is None or ipam is None or scope is None or scope.ipam_id != ipam.pk:
        return None
    if {"space", "parent_pool"} & set(form.errors):
        return None
    parent = data.get("parent_pool")
    draft = Plan(
        ipam=ipam,
        scope=scope,
        address_family=template.family,
        name=data.get("name") or "(new plan)",
        space=[str(c) for c in data.get("space") or ()],
        parent_pool=parent,
    )
    spec = spec_of(draft, tuple(wizard.expand(template)))
    live = world(draft, spec)
    packing = services.pack(spec, live)
    found = checks.validate(spec.with_nodes(packing.nodes), live) + packing.findings
    root = live.pools.get(parent.pool_id) if parent is not None else None
    form.show_lengths(wizard.level_lengths(template))
    return wizard.preview(
        spec,
        packing,
        findings=ordered(found, Tree.of(packing.nodes)),
        template=template,
        space=root.facts.space if root is not None else None,
        limit=PREVIEW_ROWS,
    )


# --- a clone of live pools ---------------------------------------------------------------------


@permission_required(ADD, raise_exception=True)
@require_http_methods(["GET", "POST"])
def plan_clone(request: HttpRequest) -> HttpResponse:
    """A plan of live pools as they are, each node bound to its pool."""
    if request.method == "GET":
        return _clone_page(request, CloneForm(initial=place_initial(request.GET)))
    form = CloneForm(request.POST)
    if _is_live(request):
        form.is_valid()
        drop_premature_errors(form)
        trigger = request.POST.get("_live", "")
        parts = {"pool"} if trigger in ("scope", "address_family") else set()
        context = {**_clone_context(form), "parts": parts}
        return render(request, "planning/plan_clone.html#clone-live", context)
    if form.is_valid():
        found = form.source()
        assert found is not None
        scope = form.cleaned_data["scope"]
        plan = _create(
            form,
            lambda: services.plan_create(
                ipam=scope.ipam,
                scope=scope,
                address_family=found.address_family,
                name=form.cleaned_data["name"],
                space=found.space,
                parent_pool=found.parent_pool,
                description=form.cleaned_data.get("description", ""),
                nodes=found.nodes,
                user=request.user,
            ),
        )
        if plan is not None:
            _tell_clone(request, plan, found)
            return redirect("plan_detail", plan_id=plan.pk)
    return _clone_page(request, form)


def _clone_page(request: HttpRequest, form: CloneForm) -> HttpResponse:
    return render(request, "planning/plan_clone.html", _clone_context(form))


def _clone_context(form: CloneForm) -> dict[str, Any]:
    found = form.source()
    rows = found.rows(CLONE_ROWS) if found is not None else []
    return {"form": form, "source": found, "source_rows": rows, "shown": CLONE_ROWS}


def _tell_clone(request: HttpRequest, plan: Plan, found: clone.Clone) -> None:
    messages.success(
        request,
        f"Created the plan {plan.name}: {found.pool_count} live pools, each node bound to its "
        "pool.",
    )
    if found.extra_cidrs:
        listed = "; ".join(
            f"{e.name} keeps {e.kept} (not {', '.join(str(c) for c in e.others)})"
            for e in found.extra_cidrs[:5]
        )
        more = len(found.extra_cidrs) - 5
        messages.warning(
            request,
            f"{len(found.extra_cidrs)} pools have more than one CIDR; a node holds one: {listed}"
            + (f"; and {more} more." if more > 0 else "."),
        )
    if found.without_cidr:
        messages.warning(
            request,
            f"{len(found.without_cidr)} pools have no provisioned CIDR yet; their nodes need a "
            "size.",
        )
