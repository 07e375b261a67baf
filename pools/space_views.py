"""The pool page's space: allocate (and preview the next block), release, deprovision, and
the live checks of these forms and of provisioning.

Each change is a form checked by AWS's rules before AWS is called, then one AWS call through
:mod:`pools.services`; a refusal comes back on the pool page next to its field or row, the
input kept. What AWS finishes later (a deprovision) is followed by the task of
:func:`pools.tasks.follow`, which the page's status polls.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from awsipam import addressing
from pools import selectors, services, tasks
from pools.aws import AwsError
from pools.forms import ProvisionCidrForm
from pools.models import IpamPool
from pools.space_forms import (
    AllocateForm,
    DeprovisionForm,
    ReleaseForm,
    drop_premature_errors,
    first_error,
)
from pools.views import VIEW, _pool_page

CHANGE = "pools.change_ipampool"
ALLOCATIONS_PER_PAGE = 500  # rows of the allocations page


def _pool(pool_id: str) -> IpamPool:
    return get_object_or_404(selectors.pool_with_space(), pool_id=pool_id)


def _live_errors(request: HttpRequest, form: Any) -> HttpResponse:
    """The form's error regions, swapped in out of band (inputs are never replaced)."""
    form.is_valid()
    drop_premature_errors(form)
    return render(request, "pools/_live_errors.html", {"form": form})


@permission_required(CHANGE, raise_exception=True)
@require_POST
def pool_provision_validate(request: HttpRequest, pool_id: str) -> HttpResponse:
    return _live_errors(request, ProvisionCidrForm(request.POST, pool=_pool(pool_id)))


@permission_required(CHANGE, raise_exception=True)
@require_POST
def pool_allocate_validate(request: HttpRequest, pool_id: str) -> HttpResponse:
    return _live_errors(request, AllocateForm(request.POST, pool=_pool(pool_id)))


@permission_required(CHANGE, raise_exception=True)
@require_POST
def pool_allocate(request: HttpRequest, pool_id: str) -> HttpResponse:
    """Allocate a custom block; AWS answers at once with the block it gave."""
    pool = _pool(pool_id)
    form = AllocateForm(request.POST, pool=pool)
    if form.is_valid():
        try:
            allocation = services.pool_allocate(
                pool=pool, spec=form.spec(), client_token=form.cleaned_data["client_token"]
            )
        except AwsError as err:
            form.add_aws_error(err.member, err.message, new_token=not err.retryable)
        else:
            messages.success(request, f"Allocated {allocation.cidr} from {pool.pool_id}.")
            page = reverse("pool_detail", args=[pool.pool_id])
            return redirect(f"{page}#allocation-{allocation.allocation_id}")
    return _pool_page(request, pool, allocate_form=form)


@permission_required(CHANGE, raise_exception=True)
@require_POST
def pool_allocate_preview(request: HttpRequest, pool_id: str) -> HttpResponse:
    """The block AWS would allocate now (``PreviewNextCidr``): AWS is asked, nothing changes.
    For htmx just the answer, shown beside the form; otherwise the pool page with it."""
    pool = _pool(pool_id)
    form = AllocateForm(request.POST, pool=pool)
    preview: dict[str, Any] = {}
    if form.is_valid():
        try:
            preview["cidr"] = services.pool_preview_allocation(pool=pool, spec=form.spec())
        except AwsError as err:
            preview["error"] = err.message
    else:
        preview["error"] = first_error(form)
    if request.htmx:
        context = {"preview": preview, "form": form, "live": True}
        return render(request, "pools/_allocate_preview.html", context)
    return _pool_page(request, pool, allocate_form=form, allocate_preview=preview)


@permission_required(CHANGE, raise_exception=True)
@require_POST
def allocation_release(request: HttpRequest, pool_id: str) -> HttpResponse:
    """Release a custom allocation; a refusal (ours or AWS's) is shown on its row, on the page
    the form came from (``back``: a page of the allocations page, or the pool page)."""
    pool = _pool(pool_id)
    form = ReleaseForm(request.POST, pool=pool)
    back = _page_number(request.POST.get("back"))
    if form.is_valid():
        allocation = form.cleaned_data["allocation"]
        if not allocation.in_aws:  # a second submit after the first released it
            messages.info(request, f"{allocation.cidr} is already released.")
            return _back(pool, back)
        try:
            services.allocation_release(allocation=allocation)
        except AwsError as err:
            return _release_refused(request, pool, back, allocation.allocation_id, err.message)
        messages.success(request, f"Released {allocation.cidr} from {pool.pool_id}.")
        return _back(pool, back)
    wanted = form.data.get("allocation")
    shown = {a.allocation_id for a in pool.allocations.all()}  # the rows of the page
    allocation_id = wanted if wanted in shown else ""
    return _release_refused(request, pool, back, allocation_id, first_error(form))


def _page_number(text: Any) -> int | None:
    """A page of the allocations page: a small decimal number (not ``²``, not 5,000 digits)."""
    if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 6:
        return int(text)
    return None


def _back(pool: IpamPool, page: int | None) -> HttpResponse:
    if page is None:
        return redirect("pool_detail", pool_id=pool.pool_id)
    return redirect(f"{reverse('pool_allocations', args=[pool.pool_id])}?page={page}")


def _release_refused(
    request: HttpRequest, pool: IpamPool, page: int | None, allocation_id: str, message: str
) -> HttpResponse:
    shown = {"release_allocation_id": allocation_id, "release_error": message}
    if page is not None:
        return _allocations_page(request, pool, page, **shown)
    return _pool_page(request, pool, **shown)


@permission_required(CHANGE, raise_exception=True)
@require_POST
def pool_deprovision(request: HttpRequest, pool_id: str) -> HttpResponse:
    """Deprovision a CIDR: AWS answers pending-deprovision, then the task follows it until it
    settles. A refusal is shown on the CIDR's row."""
    pool = _pool(pool_id)
    form = DeprovisionForm(request.POST, pool=pool)
    if form.is_valid():
        try:
            cidr = services.pool_deprovision_cidr(pool=pool, cidr=form.cleaned_data["cidr"])
        except AwsError as err:
            message = err.message
        else:
            tasks.follow(pool)
            messages.success(request, f"Deprovisioning {cidr.cidr} from {pool.pool_id}.")
            return redirect("pool_detail", pool_id=pool_id)
    else:
        message = first_error(form)
    return _pool_page(
        request,
        pool,
        deprovision_cidr=_row_of(pool, form.data.get("cidr")),
        deprovision_error=message,
    )


def _row_of(pool: IpamPool, text: Any) -> str:
    """The CIDR of the pool's row a posted CIDR names ("" for none: shown above the rows)."""
    network = addressing.parse_cidr(text if isinstance(text, str) else "").network
    rows = {str(c.cidr) for c in pool.cidrs.all() if c.cidr is not None}
    return str(network) if network is not None and str(network) in rows else ""


@permission_required(VIEW, raise_exception=True)
@require_GET
def pool_allocations(request: HttpRequest, pool_id: str) -> HttpResponse:
    """Every allocation of the pool, a page at a time (the pool page shows the first ones)."""
    return _allocations_page(request, _pool(pool_id), request.GET.get("page"))


def _allocations_page(
    request: HttpRequest, pool: IpamPool, page: Any, **shown: Any
) -> HttpResponse:
    rows = Paginator(selectors.pool_allocations(pool), ALLOCATIONS_PER_PAGE).get_page(page)
    return render(
        request,
        "pools/pool_allocations.html",
        {
            "pool": pool,
            "page": rows,
            "allocation_list": rows.object_list,
            "allocation_count": rows.paginator.count,
            "back": rows.number,
            **shown,
        },
    )
