"""Plans: read them (settings, nodes, findings, the diff, the apply journal), change them, and
apply them.

Each change does what its page does: the body is typed by a serializer, judged by the page's
own form (:class:`planning.start_forms.PlanPlaceForm`, :class:`planning.forms.NodeForm`,
:class:`~planning.forms.MoveForm`, :class:`~planning.forms.PlanSettingsForm`,
:class:`planning.upload_forms.PlanImportForm`) or the plan document's reader, and made by the
same service in :mod:`planning.services` / :mod:`planning.runs`, with the page's permission.
A plan being applied (or archived) takes no edit: 409. A change may carry ``If-Match`` with
the plan's ``version``; another version answers 412 and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError
from django.db.models import Count, QuerySet
from django.urls import re_path, reverse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from api import problems
from api.filters import AwsIdFilter
from api.forms import form_data, rule_violation
from api.pagination import Cursor
from api.permissions import ADD_PLANS, CHANGE_PLANS, DELETE_PLANS, VIEW_PLANS
from api.schema import PROBLEMS, problem_responses
from api.serializers import plans as bodies
from planning import diff as plan_diff
from planning import formats, runs, services
from planning.findings import Finding
from planning.forms import MoveForm, NodeForm, PlanSettingsForm
from planning.models import ApplyRun, ApplyStep, Plan, PlanNode
from planning.selectors import load, world
from planning.spec import NodeSpec, PlanSpec, Tree, new_key
from planning.start_forms import PlanPlaceForm
from planning.upload_forms import PlanImportForm
from pools import selectors as pool_selectors
from pools.forms import is_aws_id

PLAN_ID = r"(?P<plan_id>[0-9]{1,9})"
NODE_KEY = r"(?P<key>[A-Za-z0-9_-]{1,32})"
RUN_ID = r"(?P<run_id>[0-9]{1,9})"
NODE_TAG_ROWS = {"tags": "tag", "allocation_resource_tags": "arts"}
# The start of a run refused: by the plan's state (409) or by its content (422).
START_CONFLICTS = {"run_active", "plan_archived", "nothing"}
RUN_ACTIONS = {"pause": runs.pause, "resume": runs.resume, "cancel": runs.cancel}
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The plan's `version` (as read): the change is made only at that version.",
)
EDIT_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 412, 422)


# --- helpers ----------------------------------------------------------------------------


def _plans() -> QuerySet[Plan]:
    return Plan.objects.select_related("ipam", "scope", "parent_pool").annotate(
        node_count=Count("nodes")
    )


def _plan(plan_id: str) -> Plan:
    plan = _plans().filter(pk=int(plan_id)).first()
    if plan is None:
        raise _not_found("No plan has this ID.")
    return plan


def _not_found(detail: str) -> problems.Problem:
    return problems.Problem("not-found", detail, status_code=status.HTTP_404_NOT_FOUND)


def _version_matches(request: Request, plan: Plan) -> None:
    """``If-Match``: the plan's version (quoted or not, weak or not), or ``*``."""
    wanted = request.headers.get("If-Match")
    if wanted is None:
        return
    tags = [t.strip().removeprefix("W/").strip('"') for t in wanted[:1000].split(",")]
    if "*" in tags or str(plan.version) in tags:
        return
    detail = f"The plan is at version {plan.version}; read it again before changing it."
    raise problems.Problem(
        "precondition-failed",
        detail,
        status_code=status.HTTP_412_PRECONDITION_FAILED,
        errors=[problems.error("If-Match", "version_mismatch", detail)],
    )


def _editable(request: Request, plan: Plan) -> None:
    if not plan.is_editable:
        raise problems.conflict(
            f"The plan is {plan.get_status_display()}: it does not change while it is being "
            "applied, nor once archived.",
            "plan_not_editable",
        )
    _version_matches(request, plan)


def _field(path: str) -> str | None:
    """A document problem's path (``nodes[3].intent``) as a body field (``nodes.3.intent``)."""
    return path.replace("[", ".").replace("]", "").strip(".") or None


def _format_errors(err: formats.FormatError, prefix: str = "") -> list[dict[str, Any]]:
    found = [
        problems.error(_field(prefix + p.path) if p.path else prefix or None, p.code, str(p))
        for p in err.problems
    ]
    if err.more:
        found.append(problems.error(None, "more_problems", f"…and {err.more} more problems."))
    return found


def _violation(errors: list[dict[str, Any]]) -> problems.Problem:
    return problems.Problem(
        "rule-violation",
        errors[0]["detail"],
        status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        errors=errors,
    )


def _plan_error(err: services.PlanError, field: str | None = None) -> problems.Problem:
    return _violation([problems.error(field or err.field, err.code, str(err))])


def _run_counts(run_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Steps by status, per run (one query)."""
    counts: dict[int, dict[str, int]] = {}
    rows = (
        ApplyStep.objects.filter(run_id__in=list(run_ids))
        .order_by()
        .values_list("run_id", "status")
        .annotate(n=Count("pk"))
    )
    for run_id, step_status, n in rows:
        counts.setdefault(run_id, {})[step_status] = n
    return counts


def plan_body(plan: Plan, request: Request) -> dict[str, Any]:
    """The plan as ``GET /api/plans/{id}/`` shows it (four queries)."""
    plan = _plan(str(plan.pk))
    run = plan.runs.order_by("-created_at", "-id").first()
    latest = bodies.run_summary(run, _run_counts([run.pk]).get(run.pk, {})) if run else None
    context = {"request": request, "stale": services.is_stale(plan), "latest_run": latest}
    return bodies.PlanDetailSerializer(plan, context=context).data


def nodes_body(spec: PlanSpec, keys: Iterable[str]) -> list[dict[str, Any]]:
    tree = Tree.of(spec.nodes)
    return [bodies.node_body(tree.nodes[k], tree.depth(k)) for k in keys if k in tree.nodes]


def findings_body(plan: Plan, spec: PlanSpec) -> dict[str, Any]:
    names = {n.key: n.name for n in spec.nodes}
    found = [Finding.from_dict(f) for f in plan.findings or ()]
    return {
        "version": plan.version,
        "validated": plan.is_validated,
        "stale": services.is_stale(plan),
        "error_count": sum(1 for f in found if f.is_error),
        "warning_count": sum(1 for f in found if not f.is_error),
        "findings": [
            {
                "code": f.code,
                "severity": f.severity,
                "node": f.node,
                "node_name": names.get(f.node or ""),
                "field": f.field,
                "message": f.message,
                "fix": f.fix or "",
            }
            for f in found
        ],
    }


class NewestFirst(Cursor):
    ordering = "-id"


class PlanFilter(filters.FilterSet):
    """The plan list's filter (its IPAM), and the scope, status and family."""

    ipam = AwsIdFilter(field_name="ipam__ipam_id", help_text="An IPAM's ID.")
    scope = AwsIdFilter(field_name="scope__scope_id", help_text="A scope's ID.")
    status = filters.MultipleChoiceFilter(choices=Plan.Status.choices)
    family = filters.ChoiceFilter(
        field_name="address_family", choices=[("ipv4", "ipv4"), ("ipv6", "ipv6")]
    )

    class Meta:
        model = Plan
        fields: list[str] = []


# --- plans ------------------------------------------------------------------------------


class PlanViewSet(viewsets.GenericViewSet):
    """Plans: pool hierarchies drawn up before AWS has them."""

    serializer_class = bodies.PlanSerializer
    filterset_class = PlanFilter
    pagination_class = Cursor
    required = {
        "list": VIEW_PLANS,
        "retrieve": VIEW_PLANS,
        "findings": VIEW_PLANS,
        "diff": VIEW_PLANS,
        "document": VIEW_PLANS,
        "create": ADD_PLANS,
        "partial_update": CHANGE_PLANS,
        "validate": CHANGE_PLANS,
        "replace_document": CHANGE_PLANS,
        "destroy": DELETE_PLANS,
    }

    def get_queryset(self) -> QuerySet[Plan]:
        return _plans()

    @extend_schema(
        summary="List plans",
        responses={200: bodies.PlanSerializer(many=True), **PROBLEMS},
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(bodies.PlanSerializer(page, many=True).data)

    @extend_schema(summary="One plan", responses={200: bodies.PlanDetailSerializer, **PROBLEMS})
    def retrieve(self, request: Request, plan_id: str) -> Response:
        return Response(plan_body(_plan(plan_id), request))

    @extend_schema(
        summary="Create a plan",
        description=(
            "Where the new-plan page places a plan (IPAM, scope, family, name, a space or a "
            "parent pool), judged by its form; `nodes` in the plan document's format are "
            "read as an upload reads them. The plan is packed and judged at once."
        ),
        request=bodies.PlanCreateSerializer,
        responses={201: bodies.PlanDetailSerializer, **problem_responses(400, 401, 403, 422)},
    )
    def create(self, request: Request) -> Response:
        body = bodies.PlanCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = dict(body.validated_data)
        nodes_given = values.pop("nodes")
        if not values.get("ipam") and is_aws_id(values["scope"]):
            scope = pool_selectors.live_scopes().filter(scope_id=values["scope"]).first()
            values["ipam"] = scope.ipam.ipam_id if scope is not None else ""
        values["space"] = ", ".join(values["space"])
        form = PlanPlaceForm(form_data(values))
        valid = form.is_valid()
        errors = [] if valid else problems.form_errors(form)
        nodes: list[NodeSpec] = []
        if nodes_given:
            document = {
                "schema_version": formats.SCHEMA_VERSION,
                "name": "nodes",
                "address_family": values["address_family"],
                "nodes": nodes_given,
            }
            try:
                nodes = formats.from_document(document)[1]
            except formats.FormatError as err:
                errors += _format_errors(err)
        if errors:
            raise _violation(errors)
        try:
            outcome = services.plan_create(**form.place(), nodes=nodes, user=request.user)
        except services.PlanError as err:
            raise _plan_error(err) from err
        except IntegrityError as err:  # a plan of that name made meanwhile
            form.add_name_taken()
            raise rule_violation(form, values) from err
        headers = {"Location": reverse("api:plan-detail", args=[outcome.plan.pk])}
        return Response(
            plan_body(outcome.plan, request), status=status.HTTP_201_CREATED, headers=headers
        )

    @extend_schema(
        summary="Change a plan's settings",
        description="Its name, description and space, as its settings form takes them.",
        parameters=[IF_MATCH],
        request=bodies.PlanSettingsSerializer,
        responses={200: bodies.PlanDetailSerializer, **EDIT_PROBLEMS},
    )
    def partial_update(self, request: Request, plan_id: str) -> Response:
        plan = _plan(plan_id)
        body = bodies.PlanSettingsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        _editable(request, plan)
        current = PlanSettingsForm(plan=plan).initial
        values = {**current, **body.validated_data}
        if "space" in body.validated_data:
            values["space"] = "\n".join(body.validated_data["space"])
        form = PlanSettingsForm(form_data(values), plan=plan)
        if not form.is_valid():
            raise rule_violation(form, values)
        changes = form.changes()
        if changes:
            try:
                services.plan_update(plan, **changes)
            except IntegrityError as err:  # a plan of that name made meanwhile
                detail = "Another plan of this IPAM has this name."
                raise _violation([problems.error("name", "name_taken", detail)]) from err
        return Response(plan_body(plan, request))

    @extend_schema(
        summary="Delete a plan",
        description="Its nodes and the blocks it holds in the ledger; AWS is not asked.",
        parameters=[IF_MATCH],
        responses={204: None, **problem_responses(400, 401, 403, 404, 409, 412)},
    )
    def destroy(self, request: Request, plan_id: str) -> Response:
        plan = _plan(plan_id)
        if plan.status == Plan.Status.APPLYING:
            raise problems.conflict(
                "The plan is being applied: cancel the run before deleting it.", "plan_applying"
            )
        _version_matches(request, plan)
        services.plan_delete(plan)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The plan's findings",
        description="What whole-plan validation found, errors first, as the plan page lists.",
        responses={200: bodies.FindingsSerializer, **PROBLEMS},
    )
    def findings(self, request: Request, plan_id: str) -> Response:
        plan = _plan(plan_id)
        return Response(findings_body(plan, load(plan)[0]))

    @extend_schema(
        summary="Validate the plan again",
        description="Judge the whole plan again (after AWS was read again, say); nothing moves.",
        request=None,
        responses={200: bodies.FindingsSerializer, **PROBLEMS},
    )
    def validate(self, request: Request, plan_id: str) -> Response:
        plan = services.plan_validate(_plan(plan_id)).plan
        return Response(findings_body(plan, load(plan)[0]))

    @extend_schema(
        summary="What AWS would do",
        description=(
            "What applying the plan would do to each node (create, change, unchanged, "
            "blocked and why), and the AWS calls in the order the apply would make them."
        ),
        responses={200: bodies.DiffSerializer, **PROBLEMS},
    )
    def diff(self, request: Request, plan_id: str) -> Response:
        plan = _plan(plan_id)
        spec = load(plan)[0]
        result = plan_diff.diff(spec, world(plan, spec), plan.findings)
        names = {n.key: n.name for n in spec.nodes}
        numbers = {step.id: number for number, step in enumerate(result.steps, start=1)}
        body = result.as_dict()
        return Response(
            {
                "applicable": result.applicable,
                "counts": dict(result.counts),
                "plan_reasons": body["plan_reasons"],
                "nodes": [
                    {k: v for k, v in node.items() if k != "steps"} for node in body["nodes"]
                ],
                "steps": [
                    {
                        "number": numbers[step.id],
                        "id": step.id,
                        "action": step.action,
                        "node": step.node,
                        "node_name": names.get(step.node, step.node),
                        "params": plain["params"],
                        "after": [numbers[w.step] for w in step.waits_for if w.step in numbers],
                        "settles": step.settles,
                    }
                    for step, plain in zip(result.steps, body["steps"], strict=True)
                ],
            }
        )

    @extend_schema(
        summary="The plan as a document",
        description="The plan document (schema version 1), as its JSON export.",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT), **PROBLEMS},
    )
    def document(self, request: Request, plan_id: str) -> Response:
        plan = _plan(plan_id)
        meta = {"plan_id": plan.pk, "version": plan.version}
        return Response(formats.to_document(load(plan)[0], meta=meta))

    @extend_schema(
        summary="Replace the nodes from a document",
        description=(
            "A plan document's nodes become the plan's (a kept `id` updates its node in "
            "place), as the import page does; the plan keeps its name, scope and space."
        ),
        parameters=[IF_MATCH],
        request=OpenApiTypes.OBJECT,
        responses={200: bodies.PlanDetailSerializer, **EDIT_PROBLEMS},
    )
    def replace_document(self, request: Request, plan_id: str) -> Response:
        plan = _plan(plan_id)
        _editable(request, plan)
        form = _ImportForm(
            form_data({"text": json.dumps(request.data), "format": "json"}), plan=plan
        )
        if not form.is_valid():
            raise _violation(form.api_errors())
        try:
            services.plan_replace_nodes(plan, form.nodes)
        except services.PlanError as err:
            raise _plan_error(err) from err
        return Response(plan_body(plan, request))


class _ImportForm(PlanImportForm):
    """The import page's form, keeping the path of each problem of the document."""

    def add_format_error(self, err: formats.FormatError) -> None:
        self.format_errors = _format_errors(err)
        super().add_format_error(err)

    def api_errors(self) -> list[dict[str, Any]]:
        found = list(getattr(self, "format_errors", []))
        for name, errors in self.errors.as_data().items():
            for e in errors:
                if found and name == "text" and e.code != "family_differs":
                    continue  # one of the document's problems, listed with its path
                field = "address_family" if e.code == "family_differs" else None
                found.append(problems.error(field, e.code or "invalid", " ".join(e.messages)))
        return found or [problems.error(None, "invalid", "The document is not valid.")]


# --- nodes ------------------------------------------------------------------------------


def _node_form(plan: Plan, spec: PlanSpec, data: Any = None, **kwargs: Any) -> NodeForm:
    return NodeForm(
        data,
        spec=spec,
        regions=list(plan.ipam.operating_regions or ()),
        scope_type=plan.scope.scope_type,
        version=plan.version,
        **kwargs,
    )


def _node_of(spec: PlanSpec, key: str) -> NodeSpec:
    for node in spec.nodes:
        if node.key == key:
            return node
    raise _not_found("This plan has no node with this key.")


def _node_answer(plan: Plan, key: str, code: int = status.HTTP_200_OK) -> Response:
    spec = load(Plan.objects.select_related("ipam", "scope", "parent_pool").get(pk=plan.pk))[0]
    body = nodes_body(spec, [key])
    headers = {"Location": reverse("api:plan-node-detail", args=[plan.pk, key])}
    return Response(body[0], status=code, headers=headers)


def _node_values(body: dict[str, Any]) -> dict[str, Any]:
    """The body as the node form's fields (null is "": the form's "not given")."""
    return {name: ("" if value is None else value) for name, value in body.items()}


class NodeViewSet(viewsets.GenericViewSet):
    """A plan's nodes."""

    serializer_class = bodies.NodeSerializer
    pagination_class = Cursor
    required = {
        "list": VIEW_PLANS,
        "retrieve": VIEW_PLANS,
        "create": CHANGE_PLANS,
        "partial_update": CHANGE_PLANS,
        "move": CHANGE_PLANS,
        "destroy": CHANGE_PLANS,
    }

    def get_queryset(self) -> QuerySet[PlanNode]:
        return PlanNode.objects.none()

    @extend_schema(
        summary="A plan's nodes",
        description="In the order they were added; `depth` and `parent` give the tree.",
        responses={200: bodies.NodeSerializer(many=True), **PROBLEMS},
    )
    def list(self, request: Request, plan_id: str) -> Response:
        plan = _plan(plan_id)
        page = self.paginate_queryset(PlanNode.objects.filter(plan=plan).only("id", "key"))
        spec = load(plan)[0]
        return self.get_paginated_response(nodes_body(spec, [row.key for row in page]))

    @extend_schema(summary="One node", responses={200: bodies.NodeSerializer, **PROBLEMS})
    def retrieve(self, request: Request, plan_id: str, key: str) -> Response:
        plan = _plan(plan_id)
        spec = load(plan)[0]
        _node_of(spec, key)
        return Response(nodes_body(spec, [key])[0])

    @extend_schema(
        summary="Add a node",
        description=(
            "Judged by the plan page's node form, then packed: the answer has the CIDR the "
            "packer gave it. A request repeated with the same `key` adds nothing (200)."
        ),
        parameters=[IF_MATCH],
        request=bodies.NodeCreateSerializer,
        responses={
            201: bodies.NodeSerializer,
            200: OpenApiResponse(bodies.NodeSerializer, description="Added already."),
            **EDIT_PROBLEMS,
        },
    )
    def create(self, request: Request, plan_id: str) -> Response:
        plan = _plan(plan_id)
        body = bodies.NodeCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        _editable(request, plan)
        values = _node_values({"key": new_key(), **body.validated_data})
        spec = load(plan)[0]
        rows = {k: v for k, v in NODE_TAG_ROWS.items() if k in values}
        form = _node_form(plan, spec, form_data(values, rows))
        if not form.is_valid():
            raise rule_violation(form, values, rows)
        built = form.spec_node()
        try:
            services.node_add(plan, built)
        except services.PlanError as err:
            if err.code != "node_key_exists":
                raise _plan_error(err) from err
            return _node_answer(plan, built.key)
        except IntegrityError:  # the same request, at the same moment
            return _node_answer(plan, built.key)
        return _node_answer(plan, built.key, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a node",
        description=(
            "Its name, size (intent with its length, need or pinned CIDR), locale, rules, "
            "tags, description; what is left out stays as it is. A resize keeps the node "
            "where it is."
        ),
        parameters=[IF_MATCH],
        request=bodies.NodeWriteSerializer,
        responses={200: bodies.NodeSerializer, **EDIT_PROBLEMS},
    )
    def partial_update(self, request: Request, plan_id: str, key: str) -> Response:
        plan = _plan(plan_id)
        body = bodies.NodeWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        spec = load(plan)[0]
        node = _node_of(spec, key)
        _editable(request, plan)
        given = _node_values(body.validated_data)
        current = _node_form(plan, spec, node=node).initial
        values = {**{k: v for k, v in current.items() if v is not None}, **given}
        rows = {k: v for k, v in NODE_TAG_ROWS.items() if k in given}
        form = _node_form(plan, spec, form_data(values, rows), node=node)
        if not form.is_valid():
            raise rule_violation(form, given, rows)
        changes = form.changes(node)
        if changes:
            try:
                services.node_update(plan, key, **changes)
            except services.PlanError as err:
                raise _plan_error(err) from err
        return _node_answer(plan, key)

    @extend_schema(
        summary="Move a node",
        description=(
            "Put a node, with its subtree, under another parent (null: the top level). Its "
            "CIDR stays if it fits there; otherwise it is placed anew."
        ),
        parameters=[IF_MATCH],
        request=bodies.NodeMoveSerializer,
        responses={200: bodies.NodeSerializer, **EDIT_PROBLEMS},
    )
    def move(self, request: Request, plan_id: str, key: str) -> Response:
        plan = _plan(plan_id)
        body = bodies.NodeMoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        spec = load(plan)[0]
        node = _node_of(spec, key)
        _editable(request, plan)
        values = _node_values(body.validated_data)
        form = MoveForm(form_data(values), spec=spec, node=node, version=plan.version)
        if not form.is_valid():
            raise rule_violation(form, values)
        if form.parent_key != node.parent:
            try:
                services.node_move(plan, key, form.parent_key)
            except services.PlanError as err:
                raise _plan_error(err, "parent") from err
        return _node_answer(plan, key)

    @extend_schema(
        summary="Delete a node",
        description="The node and its subtree; nothing else moves.",
        parameters=[IF_MATCH],
        responses={204: None, **problem_responses(400, 401, 403, 404, 409, 412)},
    )
    def destroy(self, request: Request, plan_id: str, key: str) -> Response:
        plan = _plan(plan_id)
        _node_of(load(plan)[0], key)
        _editable(request, plan)
        try:
            services.node_delete(plan, key)
        except services.PlanError as err:  # removed meanwhile
            raise _not_found("This plan has no node with this key.") from err
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- apply runs -------------------------------------------------------------------------


def _run(plan_id: str, run_id: str) -> ApplyRun:
    run = (
        ApplyRun.objects.select_related("plan").filter(pk=int(run_id), plan_id=int(plan_id)).first()
    )
    if run is None:
        raise _not_found("This plan has no run with this ID.")
    return run


def run_body(run: ApplyRun, request: Request) -> dict[str, Any]:
    """The run and its whole journal (three queries)."""
    run = ApplyRun.objects.get(pk=run.pk)
    steps = list(run.steps.order_by("order"))
    counts: dict[str, int] = {}
    for step in steps:
        counts[step.status] = counts.get(step.status, 0) + 1
    context = {
        "request": request,
        "counts": {run.pk: counts},
        "steps": steps,
        "stalled": runs.is_stalled(run),
    }
    return bodies.RunDetailSerializer(run, context=context).data


class RunViewSet(viewsets.GenericViewSet):
    """A plan's apply runs: their journals, starting one, pausing, resuming, cancelling."""

    serializer_class = bodies.RunSerializer
    pagination_class = NewestFirst
    required = {
        "list": VIEW_PLANS,
        "retrieve": VIEW_PLANS,
        "create": CHANGE_PLANS,
        "pause": CHANGE_PLANS,
        "resume": CHANGE_PLANS,
        "cancel": CHANGE_PLANS,
    }

    def get_queryset(self) -> QuerySet[ApplyRun]:
        return ApplyRun.objects.none()

    @extend_schema(
        summary="A plan's runs",
        description="Newest first, each with its progress (steps by status).",
        responses={200: bodies.RunSerializer(many=True), **PROBLEMS},
    )
    def list(self, request: Request, plan_id: str) -> Response:
        plan = _plan(plan_id)
        page = self.paginate_queryset(ApplyRun.objects.filter(plan=plan))
        context = {"request": request, "counts": _run_counts(r.pk for r in page)}
        return self.get_paginated_response(
            bodies.RunSerializer(page, many=True, context=context).data
        )

    @extend_schema(
        summary="One run and its journal",
        description=(
            "Its status and every step: the AWS call, its node, status, the pool made, the "
            "state AWS reported, the request id, the error and the calls sent."
        ),
        responses={200: bodies.RunDetailSerializer, **PROBLEMS},
    )
    def retrieve(self, request: Request, plan_id: str, run_id: str) -> Response:
        return Response(run_body(_run(plan_id, run_id), request))

    @extend_schema(
        summary="Apply the plan",
        description=(
            "Start a run: the plan is judged again first if it changed or AWS was read since, "
            "and the task worker makes the calls. Refused (409) while a run is active, for "
            "an archived plan or when there is nothing to do; refused (422) when the plan "
            "has errors or every node is blocked."
        ),
        parameters=[IF_MATCH],
        request=None,
        responses={202: bodies.RunDetailSerializer, **EDIT_PROBLEMS},
    )
    def create(self, request: Request, plan_id: str) -> Response:
        plan = _plan(plan_id)
        _version_matches(request, plan)
        try:
            run = runs.start(plan, user=request.user)
        except services.PlanError as err:
            if err.code in START_CONFLICTS:
                problem = problems.conflict(str(err), err.code)
                active = runs.active_run(plan)
                if active is not None:
                    url = reverse("api:plan-run-detail", args=[plan.pk, active.pk])
                    problem.headers["Location"] = url
                raise problem from err
            raise _plan_error(err) from err
        url = reverse("api:plan-run-detail", args=[plan.pk, run.pk])
        return Response(
            run_body(run, request), status=status.HTTP_202_ACCEPTED, headers={"Location": url}
        )

    def _act(self, request: Request, plan_id: str, run_id: str, action: str) -> Response:
        run = _run(plan_id, run_id)
        if not run.is_active and not (action == "cancel" and run.status == run.Status.CANCELLED):
            raise problems.conflict(
                f"The run is {run.get_status_display()}: it cannot {action} now.", "run_finished"
            )
        run = RUN_ACTIONS[action](run)
        return Response(run_body(run, request))

    @extend_schema(
        summary="Pause a run",
        description="No new call is sent; calls in flight finish.",
        request=None,
        responses={200: bodies.RunDetailSerializer, **problem_responses(400, 401, 403, 404, 409)},
    )
    def pause(self, request: Request, plan_id: str, run_id: str) -> Response:
        return self._act(request, plan_id, run_id, "pause")

    @extend_schema(
        summary="Resume a run",
        description="Go on with a paused (or stalled) run; what may have been sent is read first.",
        request=None,
        responses={200: bodies.RunDetailSerializer, **problem_responses(400, 401, 403, 404, 409)},
    )
    def resume(self, request: Request, plan_id: str, run_id: str) -> Response:
        return self._act(request, plan_id, run_id, "resume")

    @extend_schema(
        summary="Cancel a run",
        description="Stop for good; what AWS has made stays, and the plan is a draft again.",
        request=None,
        responses={200: bodies.RunDetailSerializer, **problem_responses(400, 401, 403, 404, 409)},
    )
    def cancel(self, request: Request, plan_id: str, run_id: str) -> Response:
        return self._act(request, plan_id, run_id, "cancel")


def _route(regex: str, view: type, actions: dict[str, str], name: str) -> Any:
    return re_path(rf"^plans/{regex}$", view.as_view(actions), name=name)


urlpatterns = [
    _route("", PlanViewSet, {"get": "list", "post": "create"}, "plan-list"),
    _route(
        rf"{PLAN_ID}/",
        PlanViewSet,
        {"get": "retrieve", "patch": "partial_update", "delete": "destroy"},
        "plan-detail",
    ),
    _route(rf"{PLAN_ID}/findings/", PlanViewSet, {"get": "findings"}, "plan-findings"),
    _route(rf"{PLAN_ID}/validate/", PlanViewSet, {"post": "validate"}, "plan-validate"),
    _route(rf"{PLAN_ID}/diff/", PlanViewSet, {"get": "diff"}, "plan-diff"),
    _route(
        rf"{PLAN_ID}/document/",
        PlanViewSet,
        {"get": "document", "put": "replace_document"},
        "plan-document",
    ),
    _route(rf"{PLAN_ID}/nodes/", NodeViewSet, {"get": "list", "post": "create"}, "plan-node-list"),
    _route(
        rf"{PLAN_ID}/nodes/{NODE_KEY}/",
        NodeViewSet,
        {"get": "retrieve", "patch": "partial_update", "delete": "destroy"},
        "plan-node-detail",
    ),
    _route(rf"{PLAN_ID}/nodes/{NODE_KEY}/move/", NodeViewSet, {"post": "move"}, "plan-node-move"),
    _route(rf"{PLAN_ID}/runs/", RunViewSet, {"get": "list", "post": "create"}, "plan-run-list"),
    _route(rf"{PLAN_ID}/runs/{RUN_ID}/", RunViewSet, {"get": "retrieve"}, "plan-run-detail"),
    *(
        _route(
            rf"{PLAN_ID}/runs/{RUN_ID}/{action}/",
            RunViewSet,
            {"post": action},
            f"plan-run-{action}",
        )
        for action in RUN_ACTIONS
    ),
]
