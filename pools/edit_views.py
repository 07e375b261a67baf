"""Changing a pool as it is: its settings (ModifyIpamPool), its tags, and deleting it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from pools import selectors, services, tasks
from pools.aws import AwsError
from pools.edit_forms import PoolEditForm, PoolTagsForm
from pools.forms import with_extra_tag_row
from pools.models import IpamPool
from pools.views import _pool_page

CHANGE = "pools.change_ipampool"


def _editable(pool_id: str) -> IpamPool:
    """The pool, if AWS still has it and is not deleting it (there is nothing else to edit)."""
    pool = get_object_or_404(selectors.pool_with_space(), pool_id=pool_id)
    if not pool.in_aws or pool.is_deleting:
        raise Http404("This pool is gone or being deleted.")
    return pool


def _edit_page(request: HttpRequest, form: PoolEditForm) -> HttpResponse:
    context = {"pool": form.pool, "form": form, **selectors.edit_page(form.pool)}
    return render(request, "pools/pool_edit.html", context)


@permission_required(CHANGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def pool_edit(request: HttpRequest, pool_id: str) -> HttpResponse:
    """The pool's description, auto-import and allocation rules: only what changed is sent."""
    pool = _editable(pool_id)
    if request.method == "GET":
        return _edit_page(request, PoolEditForm(pool=pool))
    form = PoolEditForm(request.POST, pool=pool)
    if form.is_valid():
        if form.unchanged:  # (a second submit of the same change comes here too)
            messages.info(request, "Nothing to change: the pool already is as the form says.")
            return redirect("pool_detail", pool_id=pool_id)
        try:
            services.pool_modify(pool=pool, changes=form.changes())
        except AwsError as err:
            form.add_aws_error(err)
        else:
            messages.success(request, f"Saved the changes to {pool.pool_id}.")
            return redirect("pool_detail", pool_id=pool_id)
    return _edit_page(request, form)


def _live(request: HttpRequest, form: PoolEditForm | PoolTagsForm) -> HttpResponse:
    """Errors of every field, swapped in out of band as the user types (inputs stay)."""
    form.is_valid()
    return render(request, "pools/_pool_live.html", {"form": form})


@permission_required(CHANGE, raise_exception=True)
@require_POST
def pool_edit_validate(request: HttpRequest, pool_id: str) -> HttpResponse:
    return _live(request, PoolEditForm(request.POST, pool=_editable(pool_id)))


@permission_required(CHANGE, raise_exception=True)
@require_POST
def pool_tags(request: HttpRequest, pool_id: str) -> HttpResponse:
    """Give the pool the tags of the rows (CreateTags, DeleteTags), then read it back."""
    pool = _editable(pool_id)
    form = PoolTagsForm(request.POST, pool=pool)
    if form.is_valid():
        if form.unchanged:
            messages.info(request, "Nothing to change: the pool already has these tags.")
            return redirect("pool_detail", pool_id=pool_id)
        try:
            services.pool_set_tags(pool=pool, tags=form.tags())
        except AwsError as err:
            form.add_aws_error(err)
        else:
            messages.success(request, f"Saved the tags of {pool.pool_id}.")
            return redirect("pool_detail", pool_id=pool_id)
        pool.refresh_from_db()
    return _pool_page(request, pool, tags_form=form)


@permission_required(CHANGE, raise_exception=True)
@require_POST
def pool_tags_validate(request: HttpRequest, pool_id: str) -> HttpResponse:
    return _live(request, PoolTagsForm(request.POST, pool=_editable(pool_id)))


@permission_required(CHANGE, raise_exception=True)
@require_POST
def pool_edit_rows(request: HttpRequest, pool_id: str, prefix: str) -> HttpResponse:
    """One more tag row: in the edit form (``arts``) or the tag editor (``tag``); the rows
    alone for htmx, the whole page otherwise."""
    pool = _editable(pool_id)
    data = with_extra_tag_row(request.POST, prefix)
    if prefix == "arts":
        form: PoolEditForm | PoolTagsForm = PoolEditForm(data, pool=pool)
        if request.htmx:
            return render(request, "pools/pool_edit.html#arts-rows", {"form": form, "pool": pool})
        return _edit_page(request, form)
    if prefix == "tag":
        form = PoolTagsForm(data, pool=pool)
        if request.htmx:
            context = {"tags_form": form, "pool": pool}
            return render(request, "pools/_pool_tags.html#tag-rows", context)
        return _pool_page(request, pool, tags_form=form)
    raise Http404("No such tags.")


@permission_required("pools.delete_ipampool", raise_exception=True)
@require_POST
def pool_delete(request: HttpRequest, pool_id: str) -> HttpResponse:
    """Delete the pool in AWS (with ``cascade``, its child pools, CIDRs and allocations too).

    A second submit while AWS deletes it asks AWS nothing. A refusal is shown on the pool page
    with the choice kept; success goes back to the page, which follows the deletion.
    """
    pool = get_object_or_404(selectors.pool_with_space(), pool_id=pool_id)
    cascade = request.POST.get("cascade") == "on"
    if not pool.is_deleting:
        try:
            tasks.follow(services.pool_delete(pool=pool, cascade=cascade))
        except AwsError as err:
            pool.refresh_from_db()
            if not pool.is_deleting:  # (it is when another submit got there first)
                error = f"AWS did not delete this pool: {err.message}"
                return _pool_page(request, pool, delete_error=error, cascade=cascade)
        else:
            what = "it and everything in it" if cascade else "it"
            messages.success(
                request, f"Deleting {pool.pool_id}: AWS removes {what} within moments."
            )
            return redirect("pool_detail", pool_id=pool_id)
    messages.info(request, f"{pool.pool_id} is already being deleted.")
    return redirect("pool_detail", pool_id=pool_id)
