"""Reading the mirror: IPAMs, scopes, a pool's CIDRs and allocations, and the change log.

Each answers from the database only (no AWS call), with what the last read of AWS found, and
costs the same few queries whatever the number of rows: the lists are cursor-paginated (the
change log by its own cursor, :class:`pools.changelog.Cursor`), a pool's CIDRs are few (AWS's
quota) and read in one query.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, URLResolver, re_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.utils.urls import replace_query_param

from api import problems
from api.filters import AllocationFilter, ScopeFilter
from api.pagination import MAX_PAGE_SIZE, PAGE_SIZE
from api.permissions import VIEW_POOLS
from api.schema import PROBLEMS, problem_responses
from api.serializers.mirror import (
    AllocationSerializer,
    ChangeEntrySerializer,
    CidrSerializer,
    IpamSerializer,
    ScopeSerializer,
)
from awsipam.constants import AWS_ID_PATTERN
from pools import changelog, selectors
from pools.changelog_views import ChangeLogFilter
from pools.forms import is_aws_id
from pools.models import Ipam, IpamPool, IpamPoolAllocation, IpamPoolCidr, Origin, by_address

LIST_PROBLEMS = problem_responses(400, 401, 403)  # a list has no id to be unknown


@extend_schema_view(
    list=extend_schema(
        summary="List IPAMs", responses={200: IpamSerializer(many=True), **LIST_PROBLEMS}
    ),
    retrieve=extend_schema(summary="One IPAM", responses={200: IpamSerializer, **PROBLEMS}),
)
class IpamViewSet(viewsets.ReadOnlyModelViewSet):
    """The IPAMs AWS has, as the last sync read them."""

    serializer_class = IpamSerializer
    lookup_field = "ipam_id"
    lookup_value_regex = AWS_ID_PATTERN
    required = {"list": VIEW_POOLS, "retrieve": VIEW_POOLS}

    def get_queryset(self):
        return Ipam.objects.live()


@extend_schema_view(
    list=extend_schema(
        summary="List scopes", responses={200: ScopeSerializer(many=True), **LIST_PROBLEMS}
    ),
    retrieve=extend_schema(summary="One scope", responses={200: ScopeSerializer, **PROBLEMS}),
)
class ScopeViewSet(viewsets.ReadOnlyModelViewSet):
    """The scopes AWS has, each with its number of pools as the pool tree counts them."""

    serializer_class = ScopeSerializer
    filterset_class = ScopeFilter
    lookup_field = "scope_id"
    lookup_value_regex = AWS_ID_PATTERN
    required = {"list": VIEW_POOLS, "retrieve": VIEW_POOLS}

    def get_queryset(self):
        return selectors.scopes_with_pool_counts().live().select_related("ipam")


def live_pool(pool_id: str) -> IpamPool:
    """The pool of the address, as the pool endpoints find it (AWS still has it)."""
    return get_object_or_404(IpamPool.objects.live(), pool_id=pool_id)


class PoolCidrList(generics.GenericAPIView):
    """Every CIDR of the pool AWS has, deprovisioned ones included, in address order (as the
    pool page lists them)."""

    serializer_class = CidrSerializer
    pagination_class = None
    filter_backends: list[Any] = []
    required = {"get": VIEW_POOLS, "head": VIEW_POOLS}

    def get_queryset(self):
        return IpamPoolCidr.objects.none()  # the schema's; the pool's CIDRs are read in get()

    @extend_schema(
        summary="A pool's CIDRs",
        description=(
            "Every CIDR of the pool, in address order: provisioned, on their way, failed "
            "(with AWS's `failure_code` and `failure_message`) and deprovisioned. A pool has at "
            "most AWS's quota of CIDRs, so the list is not paginated."
        ),
        responses={200: CidrSerializer(many=True), **PROBLEMS},
    )
    def get(self, request: Request, pool_id: str) -> Response:
        pool = live_pool(pool_id)
        cidrs = by_address(pool.cidrs.live())  # (each knows its pool: no query per row)
        return Response(CidrSerializer(cidrs, many=True).data)


@extend_schema_view(
    list=extend_schema(
        summary="A pool's allocations",
        description=(
            "The pool's allocations (child pools' CIDRs included, as `ipam-pool`), in a "
            "stable order (the order the mirror first found them), a page at a time."
        ),
        responses={200: AllocationSerializer(many=True), **PROBLEMS},
    ),
    retrieve=extend_schema(
        summary="One allocation of a pool", responses={200: AllocationSerializer, **PROBLEMS}
    ),
)
class AllocationViewSet(viewsets.ReadOnlyModelViewSet):
    """The allocations of a pool, each as its row on the pool page."""

    serializer_class = AllocationSerializer
    filterset_class = AllocationFilter
    lookup_field = "allocation_id"
    required = {"list": VIEW_POOLS, "retrieve": VIEW_POOLS}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema asks with no pool
            return IpamPoolAllocation.objects.none()
        return IpamPoolAllocation.objects.live().filter(pool=live_pool(self.kwargs["pool_id"]))

    def list(self, request: Request, pool_id: str) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        rows = selectors.allocation_rows(page)
        return self.get_paginated_response(AllocationSerializer(rows, many=True).data)

    def retrieve(self, request: Request, pool_id: str, allocation_id: str) -> Response:
        (row,) = selectors.allocation_rows([self.get_object()])
        return Response(AllocationSerializer(row).data)


# --- the change log ---------------------------------------------------------------------


class ChangeQuery(ChangeLogFilter):
    """The change log page's filters, plus the IPAM (the page's address names it) and the
    page's size."""

    ipam = forms.CharField(required=False, max_length=64, label="IPAM ID")
    page_size = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)

    def clean_ipam(self) -> str:
        ipam = self.cleaned_data["ipam"].strip()
        if ipam and not is_aws_id(ipam):
            raise forms.ValidationError(
                "Enter an IPAM ID, such as ipam-0123456789abcdef0.", code="invalid"
            )
        return ipam


class ChangePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next (older) page's address.")
    previous = serializers.URLField(
        allow_null=True, help_text="Always null: the change log pages from newest to oldest."
    )
    results = ChangeEntrySerializer(many=True)


def _choices(pairs: Any) -> list[str]:
    return [value for value, _ in pairs]


CHANGE_PARAMETERS = [
    OpenApiParameter("ipam", OpenApiTypes.STR, description="An IPAM's ID."),
    OpenApiParameter("pool", OpenApiTypes.STR, description="A pool's ID."),
    OpenApiParameter(
        "origin", OpenApiTypes.STR, enum=_choices(Origin.choices), description="Who made it."
    ),
    OpenApiParameter(
        "kind",
        OpenApiTypes.STR,
        enum=list(changelog.KINDS),
        description="AWS calls, or changes to pools, CIDRs or allocations.",
    ),
    OpenApiParameter("user", OpenApiTypes.STR, description="A user's name."),
    OpenApiParameter(
        "before", OpenApiTypes.STR, description="Where the page starts (from a `next` link)."
    ),
    OpenApiParameter(
        "page_size",
        OpenApiTypes.INT,
        description=f"1 to {MAX_PAGE_SIZE}; {PAGE_SIZE} if not given.",
    ),
]


class ChangeList(generics.GenericAPIView):
    """The change log: what the app asked of AWS, and every change to the mirror's pools,
    CIDRs and allocations, newest first."""

    serializer_class = ChangeEntrySerializer
    pagination_class = None
    filter_backends: list[Any] = []
    required = {"get": VIEW_POOLS, "head": VIEW_POOLS}

    def get_queryset(self):
        return IpamPool.objects.none()  # the log is read by changelog.entries(), not a queryset

    @extend_schema(
        summary="The change log",
        description=(
            "The log's entries, newest first, filtered as the change log page filters them. "
            "Follow `next` for older entries."
        ),
        parameters=CHANGE_PARAMETERS,
        responses={200: ChangePageSerializer, **LIST_PROBLEMS},
    )
    def get(self, request: Request) -> Response:
        form = ChangeQuery(request.query_params)
        if not form.is_valid():
            errors = problems.form_errors(form)
            raise problems.Problem(
                "invalid-request",
                errors[0]["detail"],
                status_code=status.HTTP_400_BAD_REQUEST,
                errors=errors,
            )
        query = form.query()
        limit = form.cleaned_data["page_size"] or PAGE_SIZE
        ipam_pk = None
        if form.cleaned_data["ipam"]:
            ipam_pk = (
                Ipam.objects.filter(ipam_id=form.cleaned_data["ipam"])
                .values_list("pk", flat=True)
                .first()
            )
            if ipam_pk is None:  # an IPAM the mirror never had: nothing changed in it
                return Response({"next": None, "previous": None, "results": []})
        entries, following = changelog.entries(ipam_pk=ipam_pk, limit=limit, **query)
        ipam_pks = {e.item.ipam_id for e in entries} - {None}
        ipam_ids = dict(Ipam.objects.filter(pk__in=ipam_pks).values_list("pk", "ipam_id"))
        following_url = None
        if following is not None:
            following_url = replace_query_param(
                request.build_absolute_uri(), "before", str(following)
            )
        results = ChangeEntrySerializer(entries, many=True, context={"ipam_ids": ipam_ids}).data
        return Response({"next": following_url, "previous": None, "results": results})


router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("ipams", IpamViewSet, basename="ipam")
router.register("scopes", ScopeViewSet, basename="scope")

POOL = rf"^pools/(?P<pool_id>{AWS_ID_PATTERN})/"
urlpatterns: list[URLPattern | URLResolver] = [
    *router.urls,
    re_path(rf"{POOL}cidrs/$", PoolCidrList.as_view(), name="pool-cidrs"),
    re_path(
        rf"{POOL}allocations/$",
        AllocationViewSet.as_view({"get": "list"}),
        name="pool-allocation-list",
    ),
    re_path(
        rf"{POOL}allocations/(?P<allocation_id>{AWS_ID_PATTERN})/$",
        AllocationViewSet.as_view({"get": "retrieve"}),
        name="pool-allocation-detail",
    ),
    re_path(r"^changes/$", ChangeList.as_view(), name="change-list"),
]
