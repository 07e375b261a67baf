"""Changes to a pool's space and tags, and the sync: each as the pool page (or the admin) does it.

Each request is typed by a serializer, then judged by the page's own form (every AWS rule,
the same codes), then made by the same service in :mod:`pools.services`, with the same
follow-up task: what AWS finishes later (a CIDR provisioned or deprovisioned) is read back by
:func:`pools.tasks.follow`, and the answer is a 202 saying what to poll.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import re_path, reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import APIView

from api import idempotency, problems
from api.forms import form_data, rule_violation
from api.permissions import CHANGE_POOLS, SYNC
from api.schema import problem_responses
from api.serializers.mirror import AllocationSerializer, CidrSerializer
from api.serializers.pool_actions import (
    AllocateSerializer,
    DeprovisionSerializer,
    PoolTagsSerializer,
    PreviewSerializer,
    ProvisionSerializer,
    ReleaseSerializer,
    SyncSerializer,
)
from api.serializers.pools import PoolSerializer
from api.views.pools import editable, pool_body
from awsipam.catalog import Violation
from awsipam.constants import AWS_ID_PATTERN
from pools import preflight, selectors, services, tasks
from pools.edit_forms import PoolTagsForm
from pools.forms import PROVISION_FIELDS, ProvisionCidrForm
from pools.models import IpamPool, IpamPoolAllocation
from pools.space_forms import ALLOCATE_FIELDS, AllocateForm, DeprovisionForm, ReleaseForm
from pools.taskstate import task_state

# A body field and the AWS members whose refusal concerns it.
RELEASE_NAMES = {"allocation": "allocation_id"}
RELEASE_MEMBERS = {"IpamPoolAllocationId": "allocation_id", "Cidr": "allocation_id"}
TAG_ROWS = {"tags": "tag"}
NO_NETMASK = "This pool takes no netmask length: give a CIDR."
TASK_ID_PATTERN = r"[0-9A-Za-z_-]{1,64}"


def row_of(allocation: IpamPoolAllocation) -> selectors.AllocationRow:
    """The allocation as the pool page's row (and the API's allocation list) has it."""
    return selectors.allocation_rows([allocation])[0]


def typed(serializer: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The body, typed by ``serializer`` (a 400 problem if it is not of its shape)."""
    body = serializer(data=request.data)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


def replay_headers(row: Any, started: Any) -> dict[str, str]:
    """AWS answered a repeated ClientToken with what the first request made (a row the mirror
    had before this request)."""
    return {"Idempotent-Replayed": "true"} if row.first_seen_at < started else {}


def write(summary: str, description: str, request: Any, responses: dict, **kwargs: Any) -> Any:
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        responses={**responses, **problem_responses(400, 401, 403, 404, 422, 503)},
        **kwargs,
    )


class PoolActionViewSet(viewsets.GenericViewSet):
    """The pool page's changes to a pool's space, and its tag editor."""

    lookup_field = "pool_id"
    lookup_value_regex = AWS_ID_PATTERN
    serializer_class = PoolSerializer
    filter_backends: list[Any] = []
    pagination_class = None
    required = {
        "provision": CHANGE_POOLS,
        "allocate": CHANGE_POOLS,
        "preview": CHANGE_POOLS,
        "release": CHANGE_POOLS,
        "deprovision": CHANGE_POOLS,
        "tags": CHANGE_POOLS,
    }

    def get_queryset(self) -> QuerySet[IpamPool]:
        return selectors.pool_with_space().filter(missing_since__isnull=True)

    @write(
        "Provision a CIDR into the pool",
        "ProvisionIpamPoolCidr, judged first by the pool page's provision form: a `cidr`, or "
        "(in a pool with a source pool) a `netmask_length`, AWS taking the lowest free block. "
        "AWS answers `pending-provision`; the task worker follows the pool until the CIDR "
        "settles: poll `GET /api/pools/{pool_id}/cidrs/` (or the pool).",
        ProvisionSerializer,
        {202: CidrSerializer},
        parameters=[idempotency.PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotency.idempotent
    def provision(self, request: Request, pool_id: str) -> Response:
        pool = self.get_object()
        values = typed(ProvisionSerializer, request)
        token = idempotency.client_token(request)
        form = ProvisionCidrForm(
            form_data({**values, "client_token": token}, prefix="provision"), pool=pool
        )
        if values.get("netmask_length") is not None and "netmask_length" not in form.fields:
            # the page offers no netmask length here; the rules say why
            space = services.FirstCidr(values.get("cidr") or "", values["netmask_length"])
            violations = preflight.provision(space.request(pool.pool_id), pool=pool)
            if not violations:  # (there always is one: the field is left out for that)
                violations = [Violation("netmask_needs_source", "NetmaskLength", NO_NETMASK)]
            raise problems.Problem(
                "rule-violation",
                violations[0].message,
                status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
                errors=[
                    problems.error(PROVISION_FIELDS.get(v.field or ""), v.code, v.message)
                    for v in violations
                ],
            )
        if not form.is_valid():
            raise rule_violation(form, values)
        space, started = form.space(), timezone.now()
        try:
            cidr = services.pool_provision_cidr(
                pool=pool,
                cidr=space.cidr,
                netmask_length=space.netmask_length,
                client_token=form.cleaned_data["client_token"],
            )
        except services.AwsError as err:
            raise problems.aws_problem(err, PROVISION_FIELDS) from err
        tasks.follow(pool)
        return Response(
            CidrSerializer(cidr).data,
            status=status.HTTP_202_ACCEPTED,
            headers=replay_headers(cidr, started),
        )

    def _allocate_form(self, pool: IpamPool, values: dict[str, Any], token: str) -> AllocateForm:
        data = {
            **values,
            "allowed_cidrs": "\n".join(values.get("allowed_cidrs", ())),
            "disallowed_cidrs": "\n".join(values.get("disallowed_cidrs", ())),
            "client_token": token,
        }
        form = AllocateForm(form_data(data, prefix="allocate"), pool=pool)
        if not form.is_valid():
            raise rule_violation(form, values)
        return form

    @write(
        "Allocate a block from the pool",
        "AllocateIpamPoolCidr of a custom allocation, judged first by the pool page's "
        "allocate form: a `cidr`, or a `netmask_length` (with `allowed_cidrs` and "
        "`disallowed_cidrs`), or neither when the pool has a default netmask length. AWS "
        "answers at once with the block it gave.",
        AllocateSerializer,
        {
            201: AllocationSerializer,
            200: OpenApiResponse(
                AllocationSerializer, description="Replayed: the key's first allocation."
            ),
        },
        parameters=[idempotency.PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotency.idempotent
    def allocate(self, request: Request, pool_id: str) -> Response:
        pool = self.get_object()
        values = typed(AllocateSerializer, request)
        form = self._allocate_form(pool, values, idempotency.client_token(request))
        started = timezone.now()
        try:
            allocation = services.pool_allocate(
                pool=pool, spec=form.spec(), client_token=form.cleaned_data["client_token"]
            )
        except services.AwsError as err:
            raise problems.aws_problem(err, ALLOCATE_FIELDS) from err
        headers = replay_headers(allocation, started)
        headers["Location"] = reverse(
            "api:pool-allocation-detail", args=[pool.pool_id, allocation.allocation_id]
        )
        return Response(
            AllocationSerializer(row_of(allocation)).data,
            status=status.HTTP_200_OK if headers.get("Idempotent-Replayed") else 201,
            headers=headers,
        )

    @write(
        "Preview the next allocation",
        "The block AWS would allocate now for this request (AllocateIpamPoolCidr with "
        "PreviewNextCidr): nothing is allocated. The same body and rules as allocating.",
        AllocateSerializer,
        {200: PreviewSerializer},
    )
    @action(detail=True, methods=["post"], url_path="allocate/preview", url_name="preview")
    def preview(self, request: Request, pool_id: str) -> Response:
        pool = self.get_object()
        values = typed(AllocateSerializer, request)
        form = self._allocate_form(pool, values, services.new_client_token())
        try:
            cidr = services.pool_preview_allocation(pool=pool, spec=form.spec())
        except services.AwsError as err:
            raise problems.aws_problem(err, ALLOCATE_FIELDS) from err
        return Response({"cidr": str(cidr) if cidr is not None else None})

    @write(
        "Release an allocation",
        "ReleaseIpamPoolAllocation of one of the pool's custom allocations. One already "
        "released is answered as it is (`in_aws` false), AWS not asked again.",
        ReleaseSerializer,
        {200: AllocationSerializer},
    )
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pool_id: str) -> Response:
        pool = self.get_object()
        values = typed(ReleaseSerializer, request)
        form = ReleaseForm(form_data({"allocation": values["allocation_id"]}), pool=pool)
        if not form.is_valid():
            raise rule_violation(form, values, names=RELEASE_NAMES)
        allocation = form.cleaned_data["allocation"]
        if allocation.in_aws:  # (not: a second submit after the first released it)
            try:
                services.allocation_release(allocation=allocation)
            except services.AwsError as err:
                raise problems.aws_problem(err, RELEASE_MEMBERS) from err
            allocation.refresh_from_db()
        return Response(AllocationSerializer(row_of(allocation)).data)

    @write(
        "Deprovision a CIDR",
        "DeprovisionIpamPoolCidr of one of the pool's CIDRs. AWS answers "
        "`pending-deprovision`; the task worker follows the pool until the CIDR settles "
        "(`deprovisioned`, or `failed-deprovision` with AWS's reason): poll "
        "`GET /api/pools/{pool_id}/cidrs/`.",
        DeprovisionSerializer,
        {202: CidrSerializer},
    )
    @action(detail=True, methods=["post"])
    def deprovision(self, request: Request, pool_id: str) -> Response:
        pool = self.get_object()
        values = typed(DeprovisionSerializer, request)
        form = DeprovisionForm(form_data(values), pool=pool)
        if not form.is_valid():
            raise rule_violation(form, values)
        try:
            cidr = services.pool_deprovision_cidr(pool=pool, cidr=form.cleaned_data["cidr"])
        except services.AwsError as err:
            raise problems.aws_problem(err, PROVISION_FIELDS) from err
        tasks.follow(pool)
        return Response(CidrSerializer(cidr).data, status=status.HTTP_202_ACCEPTED)

    @write(
        "Set the pool's tags",
        "Exactly these tags: CreateTags for the new and changed ones, DeleteTags for the "
        "keys that go (only the calls needed), then the pool read back. The Name tag is the "
        "pool's name. A tag's rule is reported on `tags.<its key>`.",
        PoolTagsSerializer,
        {200: PoolSerializer},
    )
    @action(detail=True, methods=["put"])
    def tags(self, request: Request, pool_id: str) -> Response:
        pool = editable(self.get_object())
        values = typed(PoolTagsSerializer, request)
        form = PoolTagsForm(form_data(values, TAG_ROWS), pool=pool)
        if not form.is_valid():
            raise rule_violation(form, values, TAG_ROWS)
        if not form.unchanged:
            try:
                pool = services.pool_set_tags(pool=pool, tags=form.tags())
            except services.AwsError as err:
                raise problems.aws_problem(err) from err
        return Response(pool_body(pool, request))


def sync_body(request: Request, task_id: str, state: dict[str, Any] | None) -> dict[str, Any]:
    state = state or {"status": "READY", "errors": [], "finished_at": None}
    return {
        "task_id": task_id,
        **state,
        "status_url": reverse("api:sync-detail", args=[task_id]),
    }


class SyncView(APIView):
    """Read everything of the Region from AWS again, on the task worker (the admin's action)."""

    required = {"post": SYNC}

    @extend_schema(
        summary="Start a sync",
        description=(
            "Reads every IPAM, scope, pool, CIDR and allocation of the Region from AWS into "
            "the mirror, on the task worker. Poll `status_url` until the status is final."
        ),
        request=None,
        responses={202: SyncSerializer, **problem_responses(401, 403)},
    )
    def post(self, request: Request) -> Response:
        result = tasks.sync_region.enqueue()
        task_id = str(result.id)
        body = sync_body(request, task_id, task_state(task_id))
        return Response(
            body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]}
        )


class SyncStateView(APIView):
    """A sync's state, as the task backend has it."""

    required = {"get": SYNC}

    @extend_schema(
        summary="A sync's state",
        responses={200: SyncSerializer, **problem_responses(401, 403, 404)},
    )
    def get(self, request: Request, task_id: str) -> Response:
        state = task_state(task_id)
        if state is None:
            raise exceptions.NotFound("The task backend has no task of this ID.")
        return Response(sync_body(request, task_id, state))


router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("pools", PoolActionViewSet, basename="pool")

urlpatterns = [
    *router.urls,
    re_path(r"^sync/$", SyncView.as_view(), name="sync"),
    re_path(
        rf"^sync/(?P<task_id>{TASK_ID_PATTERN})/$", SyncStateView.as_view(), name="sync-detail"
    ),
]
