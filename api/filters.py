"""The lists' filters. The pool list's, as the pages filter and search: scope, family, locale,
state, depth, tag, an address or CIDR the pool's space contains, and text; the scopes' (IPAM,
type) and a pool's allocations' (resource, an address or CIDR they contain)."""

from __future__ import annotations

from django import forms
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field
from netaddr import IPNetwork

from awsipam.constants import MAX_POOL_DEPTH
from pools import search
from pools.forms import is_aws_id
from pools.models import (
    AddressFamily,
    IpamPool,
    IpamPoolAllocation,
    IpamPoolCidr,
    IpamScope,
    PoolTag,
    ScopeType,
    State,
)

MAX_TEXT = 256  # longer filter text is refused: nothing the app keeps is longer and indexed


class AwsIdFilter(filters.CharFilter):
    """An AWS id; text no id could be matches nothing (and is never sent to the database)."""

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if value in ("", None):
            return qs
        if not is_aws_id(value):
            return qs.none()
        return super().filter(qs, value)


class NetworkField(forms.CharField):
    """An address or CIDR (host bits ignored), as the search box takes them."""

    def clean(self, value: str | None) -> IPNetwork | None:
        text = super().clean(value)
        if not text:
            return None
        query = search.parse(text)
        if query.network is None:
            raise forms.ValidationError(
                "Give an IPv4 or IPv6 address or CIDR.", code="invalid_network"
            )
        return query.network


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_POOL_DEPTH})
class DepthFilter(filters.NumberFilter):
    field_class = forms.IntegerField  # not a decimal: ``²`` or 5,000 digits are no depth


class NetworkFilter(filters.CharFilter):
    field_class = NetworkField


class PoolFilter(filters.FilterSet):
    scope = AwsIdFilter(field_name="scope__scope_id", help_text="A scope's ID.")
    ipam = AwsIdFilter(field_name="ipam__ipam_id", help_text="An IPAM's ID.")
    source_pool = AwsIdFilter(
        field_name="source_pool__pool_id", help_text="The source pool's ID: its child pools."
    )
    family = filters.ChoiceFilter(field_name="address_family", choices=AddressFamily.choices)
    locale = filters.CharFilter(
        field_name="locale",
        max_length=64,
        help_text="A Region; `none` for pools without a locale.",
        method="by_locale",
    )
    state = filters.MultipleChoiceFilter(choices=State.choices, help_text="One or more states.")
    depth = DepthFilter(min_value=1, max_value=MAX_POOL_DEPTH)
    depth_min = DepthFilter(
        field_name="depth",
        lookup_expr="gte",
        min_value=1,
        max_value=MAX_POOL_DEPTH,
    )
    depth_max = DepthFilter(
        field_name="depth",
        lookup_expr="lte",
        min_value=1,
        max_value=MAX_POOL_DEPTH,
    )
    tag = filters.CharFilter(
        method="by_tag",
        max_length=MAX_TEXT,
        help_text="`key=value` (the value in any case), or `key=` for any value.",
    )
    contains = NetworkFilter(
        method="by_contains",
        max_length=64,
        help_text="An address or CIDR: the pools whose CIDRs contain it.",
    )
    q = filters.CharFilter(
        method="by_text",
        max_length=MAX_TEXT,
        help_text="Text in the name, description, pool ID or a tag, in any case.",
    )

    class Meta:
        model = IpamPool
        fields: list[str] = []

    def by_locale(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(locale="" if value.lower() == "none" else value)

    def by_tag(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        key, _, wanted = value.partition("=")
        tags = PoolTag.objects.filter(key=key.strip())
        if wanted.strip():
            tags = tags.alias(lowered=Lower("value")).filter(lowered=wanted.strip().lower())
        return qs.filter(id__in=tags.values("pool_id"))

    def by_contains(self, qs: QuerySet, name: str, network: IPNetwork) -> QuerySet:
        holding = IpamPoolCidr.objects.holding_space().filter(
            cidr__in=[str(n) for n in search.supernets(network)]
        )
        return qs.filter(id__in=holding.values("pool_id"))

    def by_text(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        tags = PoolTag.objects.filter(Q(value__icontains=value) | Q(key__icontains=value))
        return qs.filter(
            Q(name__icontains=value)
            | Q(description__icontains=value)
            | Q(pool_id__icontains=value)
            | Q(id__in=tags.values("pool_id"))
        )


class ScopeFilter(filters.FilterSet):
    ipam = AwsIdFilter(field_name="ipam__ipam_id", help_text="An IPAM's ID.")
    type = filters.ChoiceFilter(
        field_name="scope_type", choices=ScopeType.choices, help_text="Private or public."
    )

    class Meta:
        model = IpamScope
        fields: list[str] = []


class AllocationFilter(filters.FilterSet):
    resource_type = filters.CharFilter(
        max_length=32, help_text="What the allocation is for: `ipam-pool`, `vpc`, `custom`..."
    )
    resource_id = filters.CharFilter(max_length=128, help_text="The resource's ID.")
    contains = NetworkFilter(
        method="by_contains",
        max_length=64,
        help_text="An address or CIDR: the allocations whose CIDR contains it.",
    )

    class Meta:
        model = IpamPoolAllocation
        fields: list[str] = []

    def by_contains(self, qs: QuerySet, name: str, network: IPNetwork) -> QuerySet:
        return qs.filter(cidr__in=[str(n) for n in search.supernets(network)])
