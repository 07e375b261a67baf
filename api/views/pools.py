"""Pools: the list (filtered as the pages filter), one pool, creating, changing and deleting one.

A creation goes through the pool form (every AWS rule, the same codes) and
:func:`pools.services.pool_create`; its ``Idempotency-Key`` header is the ClientToken, so a
retried request makes no second pool and answers with the first. A change goes through the
edit page's form (:class:`pools.edit_forms.PoolEditForm`), a deletion as the pool page's.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from api import idempotency, problems
from api.filters import PoolFilter
from api.forms import form_data, rule_violation
from api.permissions import ADD_POOLS, CHANGE_POOLS, DELETE_POOLS, VIEW_POOLS
from api.schema import PROBLEMS, problem_responses
from api.serializers.pool_actions import DeleteQuerySerializer, PoolEditSerializer
from api.serializers.pools import PoolCreateSerializer, PoolSerializer
from awsipam.constants import AWS_ID_PATTERN
from pools import selectors, services, tasks, tree
from pools.edit_forms import EDIT_FIELDS, PoolEditForm
from pools.forms import POOL_FIELDS, PoolForm
from pools.models import IpamPool, PoolCreation

POOL_TAG_ROWS = {"tags": "tag", "allocation_resource_tags": "arts"}
EDIT_TAG_ROWS = {"allocation_resource_tags": "arts"}


def space_of(pools: list[IpamPool]) -> dict[int, tree.Node]:
    """The CIDRs, use and child counts of ``pools``, by primary key (three queries)."""
    return {node.pool.pk: node for node in tree.annotate(pools)}


def pool_body(pool: IpamPool, request: Request) -> dict[str, Any]:
    pool = IpamPool.objects.select_related("scope", "ipam").get(pk=pool.pk)
    context = {"request": request, "space": space_of([pool])}
    return PoolSerializer(pool, context=context).data


def editable(pool: IpamPool) -> IpamPool:
    """The pool, if AWS still has it and is not deleting it (as the edit pages: a 404)."""
    if not pool.in_aws or pool.is_deleting:
        raise Http404("This pool is gone or being deleted.")
    return pool


class PoolViewSet(viewsets.GenericViewSet):
    """Pools of the mirror; AWS's view of them as of the last read."""

    serializer_class = PoolSerializer
    filterset_class = PoolFilter
    lookup_field = "pool_id"
    lookup_value_regex = AWS_ID_PATTERN
    required = {
        "list": VIEW_POOLS,
        "retrieve": VIEW_POOLS,
        "create": ADD_POOLS,
        "partial_update": CHANGE_POOLS,
        "destroy": DELETE_POOLS,
    }

    def get_queryset(self):
        if self.action in ("partial_update", "destroy"):  # with the space the rules judge
            return selectors.pool_with_space().live()
        return IpamPool.objects.live().select_related("scope", "ipam")

    @extend_schema(summary="List pools", responses={200: PoolSerializer(many=True), **PROBLEMS})
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {**self.get_serializer_context(), "space": space_of(page)}
        return self.get_paginated_response(PoolSerializer(page, many=True, context=context).data)

    @extend_schema(summary="One pool", responses={200: PoolSerializer, **PROBLEMS})
    def retrieve(self, request: Request, pool_id: str) -> Response:
        pool = self.get_object()
        context = {**self.get_serializer_context(), "space": space_of([pool])}
        return Response(PoolSerializer(pool, context=context).data)

    @extend_schema(
        summary="Create a pool",
        description=(
            "CreateIpamPool, judged first by the same rules as the pool form. The first CIDR "
            "(`first_cidr` or `first_netmask_length`) is provisioned by the task worker as "
            "soon as AWS has made the pool; follow it by reading the pool."
        ),
        parameters=[idempotency.PARAMETER],
        request=PoolCreateSerializer,
        responses={
            201: PoolSerializer,
            200: OpenApiResponse(PoolSerializer, description="Replayed: the key's first pool."),
            **problem_responses(400, 401, 403, 422, 503),
        },
    )
    @idempotency.idempotent
    def create(self, request: Request) -> Response:
        body = PoolCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = dict(body.validated_data)
        token = idempotency.client_token(request)
        form = PoolForm(form_data({**values, "client_token": token}, POOL_TAG_ROWS))
        if not form.is_valid():
            raise rule_violation(form, values, POOL_TAG_ROWS)
        replayed = PoolCreation.objects.filter(client_token=token, pool__isnull=False).exists()
        try:
            pool = services.pool_create(
                spec=form.spec(),
                client_token=token,
                first_cidr=form.first_cidr_request(),
                user=request.user,
            )
        except services.AwsError as err:
            raise problems.aws_problem(err, POOL_FIELDS) from err
        if not replayed:
            tasks.follow(pool)
        headers = {"Location": reverse("api:pool-detail", args=[pool.pool_id])}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(
            pool_body(pool, request),
            status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED,
            headers=headers,
        )

    @extend_schema(
        summary="Change a pool",
        description=(
            "ModifyIpamPool, judged first by the same rules as the pool's edit form: only the "
            "fields given change, and only what differs from the pool is sent to AWS (nothing "
            "at all if nothing differs). `allocation_resource_tags` are exactly the tags "
            "given. A netmask length of null is the form's empty field: minimum 0, maximum "
            "the family's longest, default none (`clear_default_netmask_length` clears it too)."
        ),
        request=PoolEditSerializer,
        responses={200: PoolSerializer, **problem_responses(400, 401, 403, 404, 422, 503)},
    )
    def partial_update(self, request: Request, pool_id: str) -> Response:
        pool = editable(self.get_object())
        given = PoolEditSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        values = {
            "description": pool.description,
            "auto_import": pool.auto_import,
            "allocation_min_netmask_length": pool.allocation_min_netmask_length,
            "allocation_max_netmask_length": pool.allocation_max_netmask_length,
            "allocation_default_netmask_length": pool.allocation_default_netmask_length,
            "allocation_resource_tags": dict(pool.allocation_resource_tags or {}),
            **given.validated_data,
        }
        form = PoolEditForm(form_data(values, EDIT_TAG_ROWS, prefix="edit"), pool=pool)
        if not form.is_valid():
            raise rule_violation(form, values, EDIT_TAG_ROWS)
        if not form.unchanged:  # (a second request with the same change comes here too)
            try:
                pool = services.pool_modify(pool=pool, changes=form.changes())
            except services.AwsError as err:
                raise problems.aws_problem(err, EDIT_FIELDS) from err
        return Response(pool_body(pool, request))

    @extend_schema(
        summary="Delete a pool",
        description=(
            "DeleteIpamPool; with `cascade=true` AWS also deletes its child pools, CIDRs and "
            "allocations. AWS answers `delete-in-progress`; the task worker follows the "
            "deletion: poll `GET /api/pools/{pool_id}/` until it answers 404. A second "
            "request while AWS deletes the pool asks AWS nothing."
        ),
        parameters=[DeleteQuerySerializer],
        responses={202: PoolSerializer, **problem_responses(400, 401, 403, 404, 422, 503)},
    )
    def destroy(self, request: Request, pool_id: str) -> Response:
        pool = self.get_object()
        query = DeleteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if not pool.is_deleting:
            try:
                tasks.follow(
                    services.pool_delete(pool=pool, cascade=query.validated_data["cascade"])
                )
            except services.AwsError as err:
                pool.refresh_from_db()
                if not pool.is_deleting:  # (it is when another request got there first)
                    raise problems.aws_problem(err) from err
        return Response(pool_body(pool, request), status=status.HTTP_202_ACCEPTED)
