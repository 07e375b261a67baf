"""The reservation ledger of an IPAM: what plans hold, external networks and excluded ranges.

Reading it needs ``pools.view_reservation``; adding a block ``pools.add_reservation``; removing
one ``pools.delete_reservation``. A plan's blocks are not removed here: they go with their plan
(or with the nodes that hold them), as the planner writes them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from planning.ledger_forms import ReservationForm
from planning.models import Plan
from pools.forms import is_aws_id
from pools.models import AddressFamily, Ipam, Reservation, by_address

VIEW = "pools.view_reservation"
ADD = "pools.add_reservation"
DELETE = "pools.delete_reservation"
MAX_ROW_ID = (1 << 63) - 1  # a bigger number names no row (and PostgreSQL refuses it)
ROWS_SHOWN = 2000  # per address family
PREMATURE = frozenset({"required"})  # not an error yet while the user types


def _ipam(ipam_id: str) -> Ipam:
    if not is_aws_id(ipam_id):
        raise Http404("No such IPAM.")
    return get_object_or_404(Ipam, ipam_id=ipam_id)


def _families(ipam: Ipam) -> list[dict[str, Any]]:
    """The IPAM's reservations by family, in address order, with who made them and which
    plan holds them (three queries: the rows with their users, the plans' names)."""
    rows = list(Reservation.objects.filter(ipam=ipam).select_related("created_by"))
    plans = dict(
        Plan.objects.filter(pk__in={r.plan_id for r in rows if r.plan_id}).values_list("pk", "name")
    )
    families = []
    for family, label in AddressFamily.choices:
        mine = by_address(r for r in rows if r.address_family == family)
        for row in mine:
            row.plan_name = plans.get(row.plan_id, "") if row.plan_id else ""
        families.append(
            {
                "family": family,
                "label": label,
                "rows": mine[:ROWS_SHOWN],
                "count": len(mine),
            }
        )
    return families


def _page(request: HttpRequest, ipam: Ipam, form: ReservationForm, status: int = 200):
    context = {
        "ipam": ipam,
        "form": form,
        "families": _families(ipam),
        "can_add": request.user.has_perm(ADD),
        "can_delete": request.user.has_perm(DELETE),
        "rows_shown": ROWS_SHOWN,
    }
    return render(request, "planning/ledger.html", context, status=status)


def _drop_premature(form: ReservationForm) -> None:
    for name in list(form.errors):
        kept = [e for e in form.errors[name].as_data() if e.code not in PREMATURE]
        if kept:
            form.errors[name] = form.error_class(kept, renderer=form.renderer)
        else:
            del form.errors[name]


@permission_required(VIEW, raise_exception=True)
@require_http_methods(["GET", "POST"])
def ledger(request: HttpRequest, ipam_id: str) -> HttpResponse:
    """The ledger, and the form that adds a block to it. An htmx POST with ``_live`` only
    judges the form as the user types (its errors and warnings, swapped in out of band)."""
    ipam = _ipam(ipam_id)
    if request.method == "GET":
        initial = {}
        if request.GET.get("family") in AddressFamily.values:
            initial["address_family"] = request.GET["family"]
        return _page(request, ipam, ReservationForm(ipam=ipam, initial=initial))
    if not request.user.has_perm(ADD):
        raise PermissionDenied
    form = ReservationForm(request.POST, ipam=ipam)
    if request.htmx and request.POST.get("_live"):
        form.is_valid()
        _drop_premature(form)
        return render(request, "planning/ledger.html#ledger-live", {"form": form})
    if form.is_valid():
        try:
            reservation = form.save(request.user)
        except ValidationError:
            pass  # taken meanwhile: the form says by whom
        else:
            messages.success(
                request, f"Reserved {reservation.cidr} for {reservation.name} in the ledger."
            )
            for warning in form.warnings:
                messages.warning(request, warning)
            return redirect("ledger", ipam_id=ipam.ipam_id)
    return _page(request, ipam, form)


@permission_required(DELETE, raise_exception=True)
@require_POST
def reservation_delete(request: HttpRequest, ipam_id: str, reservation_id: int) -> HttpResponse:
    """Give a block back. A plan's block is refused (409): it goes with its plan."""
    ipam = _ipam(ipam_id)
    if reservation_id > MAX_ROW_ID:
        raise Http404("No such reservation.")
    reservation = get_object_or_404(Reservation, pk=reservation_id, ipam=ipam)
    if reservation.kind == Reservation.Kind.PLAN:
        messages.error(
            request,
            f"{reservation.cidr} is held by a plan: it goes when the plan (or its node) does.",
        )
        return _page(request, ipam, ReservationForm(ipam=ipam), status=409)
    reservation.delete()
    messages.success(request, f"{reservation.cidr} ({reservation.name}) is no longer reserved.")
    return redirect("ledger", ipam_id=ipam.ipam_id)
