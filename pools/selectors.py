"""Read queries for the pages."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from pools.models import Ipam, IpamScope


def ipams_with_scopes() -> QuerySet[Ipam]:
    scopes = IpamScope.objects.annotate(
        mirrored_pools=Count("pools", filter=Q(pools__missing_since__isnull=True))
    )
    return Ipam.objects.filter(missing_since__isnull=True).prefetch_related(
        Prefetch("scopes", queryset=scopes.filter(missing_since__isnull=True))
    )
