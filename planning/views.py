"""The plan pages: the list of plans, a plan's page (its tree, findings, headroom and address
map) and the edits made on it in place.

Plain function views. An htmx request gets the partial it swaps in: a node's form into its
row, the form's errors and its dry run while the user types, and after a saved edit the
plan's main region (tree, findings, headroom, map) at once. Without JavaScript every form
is a page of its own and every save redirects to the plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from awsipam.constants import MAX_POOL_DEPTH
from planning import diff, services
from planning import page as plan_page
from planning.apply_views import run_summary
from planning.forms import MoveForm, NodeForm, PlanSettingsForm, small_int
from planning.models import Plan
from planning.page import PlanPage, dom_id, is_key
from planning.selectors import plan_spec, world
from planning.spec import NodeSpec, PlanSpec
from planning.world import World
from pools.forms import TAG_PREFIXES, is_aws_id, with_extra_tag_row
from pools.models import Ipam

VIEW = "planning.view_plan"
CHANGE = "planning.change_plan"
DELETE = "planning.delete_plan"
PLANS_PER_PAGE = 50
DELETE_LIST_CAP = 25  # names listed in a delete confirmation
FINDINGS_SHOWN = 300  # of each severity, in the findings panel
REPACK_CODES = frozenset({"renumbering_needed", "node_no_room"})


# --- loading ----------------------------------------------------------------------------


def _plan(plan_id: int) -> Plan:
    plans = Plan.objects.select_related("ipam", "scope", "parent_pool", "created_by")
    return get_object_or_404(plans, pk=plan_id)


@dataclass
class Loaded:
    """A plan with its nodes as a spec, the world it is judged against and its page."""

    plan: Plan
    spec: PlanSpec
    world: World
    page: PlanPage

    def node(self, key: str) -> NodeSpec | None:
        return self.page.tree.nodes.get(key) if is_key(key) else None

    @property
    def regions(self) -> list[str]:
        return list(self.plan.ipam.operating_regions or ())


def _load(plan: Plan) -> Loaded:
    spec = plan_spec(plan)
    live = world(plan, spec)
    depth = plan.parent_pool.depth if plan.parent_pool_id else 0
    return Loaded(plan, spec, live, PlanPage(spec, live, plan.findings, parent_depth=depth))


def _query(request: HttpRequest) -> QueryDict:
    """The page's own query: for an htmx request made from the page, the page's address."""
    if request.htmx and request.method == "POST" and request.htmx.current_url:
        return QueryDict(urlsplit(request.htmx.current_url).query)
    return request.GET


def _open_keys(request: HttpRequest, page: PlanPage, *, show: tuple[str, ...] = ()) -> set[str]:
    """The nodes open in the tree: the URL's (``?open=a,b``), all (``?expand=all``) or the
    first levels; plus the way down to the nodes in ``show`` (and ``?show=``)."""
    query = _query(request)
    if "open" in query:
        wanted = query.get("open", "").split(",")[: plan_page.MAX_OPEN]
        keys = {k for k in wanted if k in page.tree.nodes}
    elif query.get("expand") == "all":
        keys = page.all_open()
    else:
        keys = page.default_open()
    shown = [*show, request.GET.get("show", "")]
    for key in shown:
        if key in page.tree.nodes:
            keys.update(page.ancestors(key))
    return keys


def _map_key(request: HttpRequest, page: PlanPage) -> str | None:
    key = _query(request).get("node", "") if request.method == "POST" else request.GET.get("node")
    return key if key in page.tree.nodes else None


def _context(
    request: HttpRequest,
    loaded: Loaded,
    *,
    show: tuple[str, ...] = (),
    **extra: Any,
) -> dict[str, Any]:
    """What the plan page (or its main region) draws."""
    plan, page = loaded.plan, loaded.page
    open_keys = _open_keys(request, page, show=show)
    for key in show:  # a node just added or edited shows with its children
        if page.child_count(key):
            open_keys.add(key)
    rows = page.rows(open_keys, cap=plan_page.EXPAND_ALL_CAP)
    map_key = _map_key(request, page)
    here = reverse("plan_detail", args=[plan.pk])
    address_map = page.address_map(
        map_key, node_href=lambda key: f"{here}?node={quote(key, safe='')}#plan-map"
    )
    shown_keys = {row.key for row in rows}
    findings = _finding_rows(page, shown_keys)
    can_change = request.user.has_perm(CHANGE) and plan.is_editable
    urls = _url_bases(plan)
    slots = {}
    editing = extra.get("editing")
    if editing and editing.get("slot"):
        slots[editing["slot"]] = render_to_string(
            "planning/_node_editor.html", {"plan": plan, "editing": editing}, request=request
        )
    writer = plan_page.RowWriter(
        urls=urls,
        pool_url=_cut("pool_detail", "ipam-pool-0"),
        can_change=can_change,
        max_depth=MAX_POOL_DEPTH,
        slots=slots,
    )
    return {
        "plan": plan,
        "page": page,
        "rows": rows,
        "shown_keys": shown_keys,
        "open_keys": sorted(open_keys),
        "open_query": plan_page.open_url(open_keys),
        "levels": page.levels(),
        "root_room": page.root_room(),
        "error_rows": [f for f in findings if f["finding"].is_error][:FINDINGS_SHOWN],
        "warning_rows": [f for f in findings if not f["finding"].is_error][:FINDINGS_SHOWN],
        "error_count": sum(1 for f in findings if f["finding"].is_error),
        "warning_count": sum(1 for f in findings if not f["finding"].is_error),
        "findings_shown": FINDINGS_SHOWN,
        "urls": urls,
        "rows_html": mark_safe(writer.write(rows)),  # escaped by the writer
        "map": address_map,
        "map_node": page.tree.nodes.get(map_key) if map_key else None,
        "stale": services.is_stale(plan),
        "can_change": can_change,
        "can_delete": request.user.has_perm(DELETE),
        "node_count": len(loaded.spec.nodes),
        "top_count": len(page.kids.get(None, ())),
        "more_rows": len(rows) >= plan_page.EXPAND_ALL_CAP,
        "apply": run_summary(plan.runs.first()),
        **extra,
    }


def _finding_rows(page: PlanPage, shown: set[str]) -> list[dict[str, Any]]:
    """The findings with their node's name, its row's anchor (and whether the row is shown:
    else the link opens the way down to it), and where "repack" would place it anew."""
    out = []
    for found in page.findings:
        node = page.tree.nodes.get(found.node or "")
        out.append(
            {
                "finding": found,
                "name": node.name if node else "",
                "key": node.key if node else "",
                "dom": dom_id(node.key) if node else "",
                "shown": node is not None and node.key in shown,
                "repack": found.code in REPACK_CODES and node is not None,
                "repack_under": (node.parent or "") if node else "",
                "repack_name": (
                    page.tree.nodes[node.parent].name
                    if node and node.parent in page.tree.nodes
                    else ""
                ),
            }
        )
    return out


def _cut(name: str, placeholder: str, *args: Any) -> tuple[str, str]:
    before, _, after = reverse(name, args=[*args, placeholder]).partition(placeholder)
    return before, after


def _url_bases(plan: Plan) -> dict[str, tuple[str, str]]:
    """The node URLs cut around the key, to be filled in per row (a reverse per row and
    action would be most of a large tree's cost)."""
    placeholder = "__key__"
    bases = {}
    for action, name in (
        ("edit", "plan_node_edit"),
        ("move", "plan_node_move"),
        ("delete", "plan_node_delete"),
    ):
        before, _, after = reverse(name, args=[plan.pk, placeholder]).partition(placeholder)
        bases[action] = (before, after)
    bases["add"] = (reverse("plan_node_add", args=[plan.pk]) + "?parent=", "")
    bases["repack"] = (reverse("plan_repack", args=[plan.pk]) + "?under=", "")
    bases["here"] = (reverse("plan_detail", args=[plan.pk]), "")
    return bases


def _main(request: HttpRequest, plan: Plan, *, notice: str = "", show=(), **extra) -> HttpResponse:
    """The plan's main region after a change, for an htmx request to swap in whole."""
    context = _context(request, _load(plan), show=show, notice=notice, **extra)
    return render(request, "planning/plan_detail.html#plan-main", context)


def _after_change(
    request: HttpRequest, plan: Plan, notice: str, *, show: str | None = None
) -> HttpResponse:
    """The answer to a saved change: the main region for htmx, else back to the plan."""
    if request.htmx:
        response = _main(request, plan, notice=notice, show=(show,) if show else ())
        return retarget(reswap(response, "outerHTML"), "#plan-main")
    messages.success(request, notice)
    url = reverse("plan_detail", args=[plan.pk])
    if show:
        url += f"?show={show}#node-{dom_id(show)}"
    return redirect(url)


def _version_note(seen: int | None, plan: Plan) -> str:
    if seen is not None and seen != plan.version:
        return (
            f" The plan had changed since the form was opened (version {seen}, now "
            f"{plan.version}): the change was made to the plan as it is now."
        )
    return ""


# --- the list ---------------------------------------------------------------------------


@permission_required(VIEW, raise_exception=True)
@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    """The plans, per IPAM (``?ipam=`` for one), newest change first."""
    plans = (
        Plan.objects.select_related("ipam", "scope", "created_by")
        .annotate(node_count=Count("nodes"))
        .order_by("ipam__ipam_id", "-updated_at", "-id")
    )
    ipam_id = request.GET.get("ipam", "")
    ipam = None
    if ipam_id and is_aws_id(ipam_id):
        ipam = Ipam.objects.filter(ipam_id=ipam_id).first()
    if ipam is not None:
        plans = plans.filter(ipam=ipam)
    pages = Paginator(plans, PLANS_PER_PAGE)
    shown = pages.get_page(small_int(request.GET.get("page"), default=1))
    groups: list[tuple[Ipam, list[Plan]]] = []
    for plan in shown:
        if not groups or groups[-1][0].pk != plan.ipam_id:
            groups.append((plan.ipam, []))
        groups[-1][1].append(plan)
    return render(
        request,
        "planning/plan_list.html",
        {"groups": groups, "ipam": ipam, "page_obj": shown, "ipams": Ipam.objects.live()},
    )


# --- the plan's page --------------------------------------------------------------------


@permission_required(VIEW, raise_exception=True)
@require_GET
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The plan: its tree (``?open=``, ``?expand=all``, ``?show=<key>``), findings, headroom
    per level and the address map (of the top level, or ``?node=<key>``). ``?children=<key>``
    with htmx: that node's rows, for opening it in place."""
    plan = _plan(plan_id)
    loaded = _load(plan)
    children = request.GET.get("children")
    if request.htmx and children is not None:
        node = loaded.node(children)
        if node is None:
            raise Http404("No such node in this plan.")
        open_keys = _open_keys(request, loaded.page) | {node.key}
        rows = loaded.page.rows(open_keys, under=node.key, cap=plan_page.EXPAND_ALL_CAP)
        writer = plan_page.RowWriter(
            urls=_url_bases(plan),
            pool_url=_cut("pool_detail", "ipam-pool-0"),
            can_change=request.user.has_perm(CHANGE) and plan.is_editable,
            max_depth=MAX_POOL_DEPTH,
        )
        return HttpResponse(writer.write(rows))
    context = _context(request, loaded)
    if request.htmx and request.htmx.target == "plan-main":
        return render(request, "planning/plan_detail.html#plan-main", context)
    return render(request, "planning/plan_detail.html", context)


def _editable(plan: Plan) -> None:
    if not plan.is_editable:
        raise Http404("A plan does not change while it is being applied, nor once archived.")


def _dialog(
    request: HttpRequest, loaded: Loaded, partial: str, context: dict, *, show=()
) -> HttpResponse:
    """A confirmation or form of the plan: the partial alone for htmx; else the plan's page
    with it open in place."""
    if request.htmx:
        return render(request, partial, {"plan": loaded.plan, **context})
    page_context = _context(request, loaded, show=show, dialog=partial, **context)
    return render(request, "planning/plan_detail.html", page_context)


@permission_required(CHANGE, raise_exception=True)
@require_POST
def plan_validate(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Judge the whole plan again (after AWS was read again, say); nothing moves."""
    plan = _plan(plan_id)
    outcome = services.plan_validate(plan)
    found = outcome.plan.error_count, outcome.plan.warning_count
    return _after_change(
        request, outcome.plan, f"Validated: {found[0]} errors, {found[1]} warnings."
    )


@permission_required(CHANGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def plan_repack(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Place anew the unbound, unpinned nodes under ``under`` (empty: the whole plan). GET
    asks first, listing the nodes whose CIDR would change (a dry run)."""
    loaded = _load_editable(plan_id)
    plan = loaded.plan
    under_text = (request.POST if request.method == "POST" else request.GET).get("under", "")
    under = loaded.node(under_text)
    if under_text and under is None:
        if request.method == "GET":
            raise Http404("No such node in this plan.")
        return _gone(request, loaded)
    key = under.key if under else None
    if request.method == "POST":
        outcome = services.plan_repack(plan, under=key)
        moved = len(outcome.packing.moved)
        what = under.name if under else "the plan"
        note = f"Repacked {what}: {moved} node{'s' if moved != 1 else ''} placed anew."
        return _after_change(request, outcome.plan, note, show=key)
    keys = plan_page.repack_keys(loaded.spec, key)
    dry = plan_page.dry_run(
        loaded.spec,
        loaded.spec,
        loaded.world,
        plan.findings,
        key=None,
        touched=None,
        replace_keys=keys,
    )
    context = {"under": under, "dry": dry, "version": plan.version}
    return _dialog(
        request, loaded, "planning/_plan_repack.html", context, show=(key,) if key else ()
    )


@permission_required(CHANGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def plan_settings(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The plan's name, description and space."""
    plan = _plan(plan_id)
    loaded = _load(plan)
    if request.method == "GET":
        form = PlanSettingsForm(plan=plan)
        return _dialog(request, loaded, "planning/_plan_settings.html", {"form": form})
    form = PlanSettingsForm(request.POST, plan=plan)
    if form.is_valid():
        changes = form.changes()
        if changes:
            try:
                services.plan_update(plan, **changes)
            except IntegrityError:  # a plan of that name made meanwhile
                form.put_error("name", "Another plan of this IPAM has this name.", "name_taken")
        if not form.errors:
            messages.success(
                request, "Saved the plan's settings." if changes else "Nothing changed."
            )
            url = reverse("plan_detail", args=[plan.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if request.htmx:
        response = render(request, "planning/_plan_settings.html", {"plan": plan, "form": form})
        return retarget(reswap(response, "outerHTML"), "#plan-settings")
    return _dialog(request, loaded, "planning/_plan_settings.html", {"form": form})


@permission_required(DELETE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def plan_delete(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Delete the plan (its nodes and the blocks it holds in the ledger); AWS is not asked."""
    plan = _plan(plan_id)
    if request.method == "POST":
        if plan.status == Plan.Status.APPLYING:  # its journal is still being worked through
            messages.error(request, "The plan is being applied: cancel its run to delete it.")
            url = reverse("plan_detail", args=[plan.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        name = plan.name
        services.plan_delete(plan)
        messages.success(request, f"Deleted the plan {name}.")
        url = reverse("plan_list") + f"?ipam={plan.ipam.ipam_id}"
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    loaded = _load(plan)
    bound = sum(1 for n in loaded.spec.nodes if n.bound)
    context = {"count": len(loaded.spec.nodes), "bound": bound}
    return _dialog(request, loaded, "planning/_plan_delete.html", context)


@permission_required(VIEW, raise_exception=True)
@require_GET
def plan_diff(request: HttpRequest, plan_id: int) -> HttpResponse:
    """What applying the plan would do in AWS: per node, create, change, unchanged or
    blocked (and why), and the calls in the order the apply would make them."""
    plan = _plan(plan_id)
    loaded = _load(plan)
    result = diff.diff(loaded.spec, loaded.world, loaded.page.findings)
    names = {n.key: n.name for n in loaded.spec.nodes}
    return render(request, "planning/plan_diff.html", {"plan": plan, **diff_context(result, names)})


def diff_context(result: diff.Diff, names: dict[str, str]) -> dict[str, Any]:
    """What a diff page draws of a diff (the plan's, or a teardown's): each node's verdict,
    and the numbered calls with the numbers of those each waits for."""
    numbers = {step.id: number for number, step in enumerate(result.steps, start=1)}
    return {
        "diff": result,
        "counts": sorted(result.counts.items()),
        "steps": [
            {
                "number": numbers[step.id],
                "step": step,
                "name": names.get(step.node, step.node),
                "dom": dom_id(step.node),
                "after": [numbers[w.step] for w in step.waits_for if w.step in numbers],
                "params": json.dumps(step.params, indent=2, sort_keys=True, default=str),
            }
            for step in result.steps
        ],
        "nodes": [(n, dom_id(n.key)) for n in result.nodes],
    }


# --- nodes ------------------------------------------------------------------------------

# A node's form or confirmation, and the id of the element an answer to it replaces.
NODE_TEMPLATES = {
    "add": ("planning/_node_form.html", "#node-form"),
    "edit": ("planning/_node_form.html", "#node-form"),
    "move": ("planning/_node_move.html", "#node-move"),
    "delete": ("planning/_node_delete.html", "#node-delete"),
}


def _in_row(
    request: HttpRequest,
    loaded: Loaded,
    mode: str,
    context: dict[str, Any],
    *,
    slot: str | None,
    refused: bool = False,
) -> HttpResponse:
    """A node's form (or confirmation) in its row: the partial alone for htmx (in place of
    the form it answers when ``refused``); without JavaScript, the plan's page with it open
    in the row of ``slot`` (None: above the tree)."""
    context = {"mode": mode, "dry": None, **context}
    template, form_id = NODE_TEMPLATES[mode]
    if request.htmx:
        response = render(request, template, {"plan": loaded.plan, **context})
        return retarget(reswap(response, "outerHTML"), form_id) if refused else response
    slot = slot if slot in loaded.page.tree.nodes else None
    editing = {"slot": slot, **context}
    page = _context(request, loaded, show=(slot,) if slot else (), editing=editing)
    return render(request, "planning/plan_detail.html", page)


def _gone(request: HttpRequest, loaded: Loaded) -> HttpResponse:
    """A form posted for a node the plan no longer has (removed meanwhile): nothing changes."""
    notice = "That node is no longer in the plan (it was removed meanwhile): nothing was changed."
    context = _context(request, loaded, notice=notice, notice_kind="warning")
    if request.htmx:
        response = render(request, "planning/plan_detail.html#plan-main", context)
        return retarget(reswap(response, "outerHTML"), "#plan-main")
    return render(request, "planning/plan_detail.html", context)


def _load_editable(plan_id: int) -> Loaded:
    """The plan an edit view works on: found (404), editable (refused while applying), loaded."""
    plan = _plan(plan_id)
    _editable(plan)
    return _load(plan)


def _node_of(request: HttpRequest, loaded: Loaded, key: str) -> NodeSpec | None:
    """The node of the URL; for a GET, 404 when the plan has no such node."""
    node = loaded.node(key)
    if node is None and request.method == "GET":
        raise Http404("No such node in this plan.")
    return node


def _node_form(loaded: Loaded, data=None, *, node=None, parent=None) -> NodeForm:
    return NodeForm(
        data,
        spec=loaded.spec,
        regions=loaded.regions,
        scope_type=loaded.plan.scope.scope_type,
        node=node,
        parent=parent,
        version=loaded.plan.version,
    )


def _live(
    request: HttpRequest, loaded: Loaded, form: NodeForm | MoveForm, dry: Any
) -> HttpResponse:
    """Every error region of the form, and the dry run, swapped in out of band."""
    context = {"plan": loaded.plan, "form": form, "dry": dry, "live": True}
    return render(request, "planning/_node_live.html", context)


def _checked(loaded: Loaded, data: QueryDict, node: NodeSpec | None) -> tuple[NodeForm, Any]:
    """The form's errors as the user types (an empty name is not one yet) and, when it is
    otherwise valid, the dry run of the edit."""
    form = _node_form(loaded, data, node=node)
    form.is_valid()
    errors = form.errors.get("name")
    if errors and all(e.code == "required" for e in errors.as_data()):
        del form.errors["name"]
    if form.errors:
        return form, None
    trial = form
    if "name" not in form.cleaned_data:  # tried with a name, to see the rest
        named = data.copy()
        named["name"] = node.name if node is not None else "(new node)"
        trial = _node_form(loaded, named, node=node)
        if not trial.is_valid():
            return form, None
    built = trial.spec_node() if node is None else replace(node, **trial.changes(node))
    after = plan_page.with_node(loaded.spec, built)
    dry = plan_page.dry_run(
        loaded.spec, after, loaded.world, loaded.plan.findings, key=built.key, touched=[built.key]
    )
    return form, dry


def _more_rows(request: HttpRequest) -> str | None:
    prefix = request.POST.get("_rows", "")
    return prefix if prefix in TAG_PREFIXES else None


def _with_more_rows(
    request: HttpRequest, loaded: Loaded, prefix: str, *, node: NodeSpec | None
) -> HttpResponse:
    """The form with one more tag row: the rows alone for htmx, else the whole form."""
    form = _node_form(loaded, with_extra_tag_row(request.POST, prefix), node=node)
    mode, key = ("edit", node.key) if node else ("add", None)
    if request.htmx:
        context = {"plan": loaded.plan, "form": form, "mode": mode, "node_key": key}
        return render(request, f"planning/_node_form.html#{prefix}-rows", context)
    slot = key or form.raw("parent") or None
    return _in_row(request, loaded, mode, {"form": form, "node_key": key}, slot=slot)


@permission_required(CHANGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def node_add(request: HttpRequest, plan_id: int) -> HttpResponse:
    """A new node (``?parent=<key>``: under that node). The form carries the new node's key,
    so a second submit of it adds nothing."""
    loaded = _load_editable(plan_id)
    plan = loaded.plan
    if request.method == "GET":
        parent = loaded.node(request.GET.get("parent", ""))
        form = _node_form(loaded, parent=parent.key if parent else None)
        return _in_row(request, loaded, "add", {"form": form}, slot=parent and parent.key)
    if prefix := _more_rows(request):
        return _with_more_rows(request, loaded, prefix, node=None)
    if request.POST.get("_validate"):
        return _live(request, loaded, *_checked(loaded, request.POST, None))
    form = _node_form(loaded, request.POST)
    if form.is_valid():
        built = form.spec_node()
        again = f"{built.name} was added already."
        try:
            outcome = services.node_add(plan, built)
        except services.PlanError as err:
            if err.code == "node_key_exists":
                return _after_change(request, plan, again, show=built.key)
            form.put_error(err.field, str(err), err.code)
        except IntegrityError:  # the same form, submitted twice at once
            return _after_change(request, plan, again, show=built.key)
        else:
            cidr = outcome.packing.cidr_of(built.key)
            where = f" at {cidr}" if cidr is not None else ", not placed yet"
            note = f"Added {built.name}{where}." + _version_note(form.version_seen, loaded.plan)
            return _after_change(request, outcome.plan, note, show=built.key)
    slot = form.raw("parent") or None
    return _in_row(request, loaded, "add", {"form": form}, slot=slot, refused=True)


@permission_required(CHANGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def node_edit(request: HttpRequest, plan_id: int, key: str) -> HttpResponse:
    """A node's name, size (length, need or pinned CIDR), locale, rules, tags, description.
    Only the parts changed in the form are saved: a form opened before someone else's edit
    keeps that edit."""
    loaded = _load_editable(plan_id)
    plan = loaded.plan
    node = _node_of(request, loaded, key)
    if node is None:
        return _gone(request, loaded)
    context = {"node_key": key}
    if request.method == "GET":
        return _in_row(
            request, loaded, "edit", {**context, "form": _node_form(loaded, node=node)}, slot=key
        )
    if prefix := _more_rows(request):
        return _with_more_rows(request, loaded, prefix, node=node)
    if request.POST.get("_validate"):
        return _live(request, loaded, *_checked(loaded, request.POST, node))
    form = _node_form(loaded, request.POST, node=node)
    if form.is_valid():
        changes = form.changes(node)
        if not changes:
            return _after_change(request, plan, f"Nothing to change in {node.name}.", show=key)
        try:
            outcome = services.node_update(plan, key, **changes)
        except services.PlanError as err:
            if err.code == "node_unknown":
                return _gone(request, _load(plan))
            form.put_error(err.field, str(err), err.code)
        else:
            cidr = outcome.packing.cidr_of(key)
            name = changes.get("name", node.name)
            note = f"Saved {name}" + (f" ({cidr})." if cidr is not None else ".")
            note += _version_note(form.version_seen, loaded.plan)
            return _after_change(request, outcome.plan, note, show=key)
    return _in_row(request, loaded, "edit", {**context, "form": form}, slot=key, refused=True)


@permission_required(CHANGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def node_move(request: HttpRequest, plan_id: int, key: str) -> HttpResponse:
    """Put a node, with its subtree, under another parent; the dry run says where it lands."""
    loaded = _load_editable(plan_id)
    plan = loaded.plan
    node = _node_of(request, loaded, key)
    if node is None:
        return _gone(request, loaded)
    data = request.POST if request.method == "POST" else None
    form = MoveForm(data, spec=loaded.spec, node=node, version=plan.version)
    context = {"node_key": key, "form": form}
    if request.method == "GET":
        return _in_row(request, loaded, "move", context, slot=key)
    valid = form.is_valid()
    if request.POST.get("_validate"):
        dry = None
        if valid:
            after = plan_page.moved(loaded.spec, loaded.world, key, form.parent_key)
            touched = [key, *([node.parent] if node.parent else [])]
            dry = plan_page.dry_run(
                loaded.spec, after, loaded.world, plan.findings, key=key, touched=touched
            )
        return _live(request, loaded, form, dry)
    if valid:
        if form.parent_key == node.parent:
            return _after_change(request, plan, f"{node.name} stays where it is.", show=key)
        try:
            outcome = services.node_move(plan, key, form.parent_key)
        except services.PlanError as err:
            if err.code == "node_unknown":
                return _gone(request, _load(plan))
            form.put_error("parent", str(err), err.code)
        else:
            cidr = outcome.packing.cidr_of(key)
            where = loaded.page.tree.nodes.get(form.parent_key or "")
            note = f"Moved {node.name} under {where.name if where else 'the top level'}"
            note += f" ({cidr})." if cidr is not None else "."
            note += _version_note(form.version_seen, loaded.plan)
            return _after_change(request, outcome.plan, note, show=key)
    return _in_row(request, loaded, "move", context, slot=key, refused=True)


@permission_required(CHANGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def node_delete(request: HttpRequest, plan_id: int, key: str) -> HttpResponse:
    """Remove a node and its subtree from the plan, after a confirmation that counts them."""
    loaded = _load_editable(plan_id)
    plan = loaded.plan
    node = _node_of(request, loaded, key)
    if node is None:
        return _gone(request, loaded)
    below = loaded.page.subtree(key)
    if request.method == "POST":
        try:
            outcome = services.node_delete(plan, key)
        except services.PlanError:
            return _gone(request, _load(plan))
        note = f"Deleted {node.name}" + (f" and {len(below)} below it." if below else ".")
        note += _version_note(small_int(request.POST.get("version")), loaded.plan)
        return _after_change(request, outcome.plan, note, show=node.parent)
    context = {
        "node": node,
        "node_key": key,
        "below": below[:DELETE_LIST_CAP],
        "more": max(0, len(below) - DELETE_LIST_CAP),
        "count": 1 + len(below),
        "bound": [n for n in [node, *below] if n.bound],
        "version": plan.version,
    }
    return _in_row(request, loaded, "delete", context, slot=key)
