"""Pages. Plain function views; an htmx request gets just the partial it swaps in."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from awsipam.constants import MAX_POOL_DEPTH
from pools import changelog, selectors, services, tasks, tree
from pools.aws import AwsError, AwsNotAuthorised, AwsRefused, AwsUnavailable
from pools.edit_forms import PoolTagsForm
from pools.forms import (
    TAG_PREFIXES,
    PoolForm,
    ProvisionCidrForm,
    is_aws_id,
    live_form,
    source_pool_label,
    with_extra_tag_row,
)
from pools.models import AddressFamily, IpamPool, IpamScope
from pools.poolplan import pool_plan
from pools.space_forms import AllocateForm

VIEW = "pools.view_ipampool"  # reading anything of the mirror
CHANGES_ON_POOL_PAGE = 10  # the newest entries of the change log; the IPAM's list has the rest

# A change in the key field re-renders these parts of the form (never the field being typed in).
DEPENDENT_PARTS = {
    "scope": {"crumbs", "source_pool", "locale", "public", "first_cidr"},
    "address_family": {"source_pool", "public"},
    "source_pool": {"locale", "first_cidr"},
    "public_ip_source": {"advertisable"},
}


@permission_required(VIEW, raise_exception=True)
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "pools/home.html", {"ipams": selectors.ipams_with_scopes()})


@login_not_required
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and `make run`."""
    try:
        connection.ensure_connection()
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


def _open_ids(request: HttpRequest) -> set[str]:
    """The pools open in the tree's URL (``?open=a,b``), at most ``tree.MAX_OPEN`` of them."""
    ids = {i for i in request.GET.get("open", "").split(",") if is_aws_id(i)}
    return set(sorted(ids)[: tree.MAX_OPEN]) if len(ids) > tree.MAX_OPEN else ids


@permission_required(VIEW, raise_exception=True)
@require_GET
def scope_detail(request: HttpRequest, scope_id: str) -> HttpResponse:
    """The scope's pool tree: top levels, open nodes from the URL, a search, or everything."""
    scope = get_object_or_404(IpamScope.objects.select_related("ipam"), scope_id=scope_id)
    query = request.GET.get("q", "").strip()
    open_ids = _open_ids(request)
    context: dict[str, Any] = {
        "scope": scope,
        "query": query,
        "tree_open_ids": open_ids,
        "cap": tree.EXPAND_ALL_CAP,
        "search_cap": tree.SEARCH_CAP,
        "can_create": request.user.has_perm("pools.add_ipampool"),
        "last_read": selectors.scope_last_read(scope),
        "shown_at": timezone.now(),  # a change found after it is announced on the page
    }
    if query:
        context["nodes"], context["match_count"] = tree.search(scope, query, tree.SEARCH_CAP)
        context["tree_open_ids"] = None  # toggles open the path to a node
    elif request.GET.get("expand") == "all":
        nodes, total = tree.build_all(scope, tree.EXPAND_ALL_CAP)
        context.update(
            nodes=nodes,
            total=total,
            shown=sum(1 for _ in tree.walk(nodes)),
            expand_all=True,
            tree_open_ids=None,
        )
    else:
        context["nodes"] = tree.build(scope, open_ids)
    template = "pools/scope_detail.html"
    if request.htmx and request.htmx.target == "tree-region":
        template += "#tree-region"
    return render(request, template, context)


@permission_required(VIEW, raise_exception=True)
@require_GET
def tree_children(request: HttpRequest, scope_id: str, pool_id: str) -> HttpResponse:
    """One node's children and free space, for expanding it in place.

    ``open`` is the tree's open set and ``level`` the children's level in the tree, so their
    toggle links (followed without JavaScript) match the page's.
    """
    pool = get_object_or_404(
        IpamPool.objects.only(*tree.TREE_FIELDS), scope__scope_id=scope_id, pool_id=pool_id
    )
    level = _tree_level(request.GET.get("level", ""), default=pool.depth + 1)
    return render(
        request,
        "pools/scope_detail.html#children",
        {
            "node": tree.children_of(pool),
            "open_ids": _open_ids(request) | {pool_id},
            "level": level,
            "can_create": request.user.has_perm("pools.add_ipampool"),
        },
    )


def _tree_level(text: str, *, default: int) -> int:
    """A tree level from the URL: a small decimal number (not ``²``, not 5,000 digits)."""
    if text.isascii() and text.isdigit() and len(text) <= 3:
        return max(1, min(int(text), MAX_POOL_DEPTH + 1))
    return default


@permission_required(VIEW, raise_exception=True)
@require_GET
def pool_map(request: HttpRequest, pool_id: str) -> HttpResponse:
    pool = get_object_or_404(selectors.pool_with_space(), pool_id=pool_id)
    return render(
        request, "pools/pool_map.html", {"pool": pool, "map": selectors.pool_address_map(pool)}
    )


def _initial(query: QueryDict) -> dict[str, Any]:
    """Prefill from the link that opened the form: a scope, a source pool, a free block."""
    initial: dict[str, Any] = {}
    source = (
        IpamPool.objects.live().select_related("scope").filter(pool_id=query.get("source")).first()
    )
    if source is not None:
        initial.update(
            scope=source.scope,
            source_pool=source,
            address_family=source.address_family,
            locale=source.locale,
        )
    elif scope := selectors.live_scopes().filter(scope_id=query.get("scope")).first():
        initial["scope"] = scope
    if query.get("family") in ("ipv4", "ipv6"):
        initial["address_family"] = query["family"]
    if query.get("cidr"):
        initial["first_cidr"] = query["cidr"]
    return initial


def _form_page(request: HttpRequest, form: PoolForm, template: str = "pools/pool_form.html"):
    return render(request, template, {"form": form, "plan": pool_plan(**form.plan_inputs())})


@permission_required("pools.add_ipampool", raise_exception=True)
@require_http_methods(["GET", "POST"])
def pool_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _form_page(request, PoolForm(initial=_initial(request.GET)))
    form = PoolForm(request.POST)
    if form.is_valid():
        try:
            pool = services.pool_create(
                spec=form.spec(),
                client_token=form.cleaned_data["client_token"],
                first_cidr=form.first_cidr_request(),
                user=request.user,
            )
        except AwsError as err:
            _explain_aws_error(form, err)
        else:
            tasks.follow(pool)
            return redirect("pool_detail", pool_id=pool.pool_id)
    return _form_page(request, form)


@permission_required("pools.add_ipampool", raise_exception=True)
@require_POST
def pool_validate(request: HttpRequest) -> HttpResponse:
    """Live validation as the user types: errors for every field and the plan, swapped in out
    of band (inputs are never replaced). ``_live`` names the field that changed."""
    trigger = request.POST.get("_live", "")
    form = live_form(request.POST, trigger)
    form.is_valid()
    form.drop_premature_errors(typing_in=trigger)
    return render(
        request,
        "pools/pool_form.html#live",
        {
            "form": form,
            "plan": pool_plan(**form.plan_inputs()),
            "parts": DEPENDENT_PARTS.get(trigger, set()),
            "trigger": trigger,
        },
    )


@permission_required("pools.add_ipampool", raise_exception=True)
@require_POST
def pool_tag_rows(request: HttpRequest, prefix: str) -> HttpResponse:
    """The form with one more row of tags (``tag``) or allocation resource tags (``arts``):
    the rows alone for htmx, the whole page otherwise."""
    if prefix not in TAG_PREFIXES:
        raise Http404("No such tags.")
    form = PoolForm(with_extra_tag_row(request.POST, prefix))
    if request.htmx:
        return render(request, f"pools/pool_form.html#{prefix}-rows", {"form": form})
    return _form_page(request, form)


@permission_required("pools.add_ipampool", raise_exception=True)
@require_GET
def pool_source_search(request: HttpRequest) -> HttpResponse:
    """Suggestions for the source pool search box of a scope with many pools."""
    scope = selectors.live_scopes().filter(scope_id=request.GET.get("scope", "")).first()
    family = request.GET.get("address_family", "")
    if family not in AddressFamily.values:
        family = AddressFamily.IPV4
    pools = selectors.source_pool_suggestions(scope, family, request.GET.get("source_pool", ""))
    suggestions = [(pool.pool_id, source_pool_label(pool)) for pool in pools]
    return render(request, "pools/_source_pool_options.html", {"suggestions": suggestions})


def _explain_aws_error(form: PoolForm, err: AwsError) -> None:
    if isinstance(err, AwsUnavailable):
        form.add_aws_error(
            None, f"{err.message} Your input is kept: submit again to retry.", err.code
        )
    elif isinstance(err, AwsNotAuthorised):
        form.add_aws_error(None, err.message, err.code)
    elif err.code == "IdempotentParameterMismatch":
        form.next_client_token = services.new_client_token()
        form.add_aws_error(
            None,
            "This form was already submitted with other values. Check them and submit again.",
            err.code,
        )
    else:
        assert isinstance(err, AwsRefused)
        form.add_aws_error(err.member, f"AWS refused: {err.message}", err.code)


@permission_required("pools.add_ipampool", raise_exception=True)
@require_POST
def pool_check_permissions(request: HttpRequest) -> HttpResponse:
    """DryRun the CreateIpamPool call the form would make: permissions only."""
    form = PoolForm(request.POST)
    spec = form.spec() if form.is_valid() else form.minimal_spec()
    outcome: dict[str, Any]
    if spec is None:
        outcome = {"ok": False, "message": "Choose a scope first."}
    else:
        try:
            services.pool_check_permissions(spec=spec)
            outcome = {
                "ok": True,
                "message": "Allowed: AWS says this call would succeed. "
                "(DryRun checks permissions only.)",
            }
        except AwsError as err:
            outcome = {"ok": False, "message": err.message}
    return render(request, "pools/pool_form.html#permission-result", {"outcome": outcome})


@permission_required(VIEW, raise_exception=True)
@require_GET
def pool_detail(request: HttpRequest, pool_id: str) -> HttpResponse:
    return _pool_page(request, get_object_or_404(selectors.pool_with_space(), pool_id=pool_id))


def _pool_page(request: HttpRequest, pool: IpamPool, **shown: Any) -> HttpResponse:
    """The pool page; ``shown`` carries a form sent back with its errors."""
    shown.setdefault("provision_form", ProvisionCidrForm(pool=pool))
    shown.setdefault("allocate_form", AllocateForm(pool=pool))
    shown.setdefault("tags_form", PoolTagsForm(pool=pool))
    return render(
        request,
        "pools/pool_detail.html",
        {
            "pool": pool,
            "address_map": selectors.pool_address_map(pool),
            "changes": changelog.entries(pool_aws_id=pool.pool_id, limit=CHANGES_ON_POOL_PAGE)[0],
            **selectors.pool_page(pool),
            **shown,
        },
    )


@permission_required("pools.change_ipampool", raise_exception=True)
@require_POST
def pool_provision(request: HttpRequest, pool_id: str) -> HttpResponse:
    """Provision a CIDR into the pool; the form comes back with AWS's refusal on its field."""
    pool = get_object_or_404(selectors.pool_with_space(), pool_id=pool_id)
    form = ProvisionCidrForm(request.POST, pool=pool)
    if form.is_valid():
        space = form.space()
        try:
            cidr = services.pool_provision_cidr(
                pool=pool,
                cidr=space.cidr,
                netmask_length=space.netmask_length,
                client_token=form.cleaned_data["client_token"],
            )
        except AwsError as err:
            form.add_aws_error(err.member, err.message)
        else:
            tasks.follow(pool)
            messages.success(request, f"Provisioning {cidr.cidr or 'a CIDR'} into {pool.pool_id}.")
            return redirect("pool_detail", pool_id=pool_id)
    return _pool_page(request, pool, provision_form=form)


@permission_required(VIEW, raise_exception=True)
@require_GET
def pool_status(request: HttpRequest, pool_id: str) -> HttpResponse:
    """The pool as the mirror has it now, polled while anything is still settling. It only
    reads: the task that follows the pool (:func:`pools.tasks.follow_pool`) asks AWS."""
    pool = get_object_or_404(selectors.pool_with_space(), pool_id=pool_id)
    page = selectors.pool_page(pool)
    context = {"pool": pool, **page}
    if not page["settling"]:  # the last poll also brings what settling changed elsewhere
        context["address_map"] = selectors.pool_address_map(pool)
    return render(request, "pools/pool_detail.html#status-update", context)


@permission_required("pools.change_ipampool", raise_exception=True)
@require_POST
def pool_follow(request: HttpRequest, pool_id: str) -> HttpResponse:
    """Read the pool from AWS again, on the worker, until it settles (a retry after a failed
    follow, or after a change made outside the app)."""
    pool = get_object_or_404(IpamPool, pool_id=pool_id)
    tasks.follow(pool)
    messages.info(request, f"Reading {pool.pool_id} from AWS again.")
    return redirect("pool_detail", pool_id=pool_id)
