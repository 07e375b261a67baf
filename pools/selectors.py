"""Read queries for the pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse
from netaddr import IPNetwork

from pools import addressing, addressmap, tree
from pools.models import (
    CidrState,
    Ipam,
    IpamPool,
    IpamPoolAllocation,
    IpamPoolCidr,
    IpamScope,
    PoolCreation,
    State,
)

SETTLING_CIDR_STATES = frozenset({CidrState.PENDING_PROVISION, CidrState.PENDING_DEPROVISION})
FAILED_STATES = frozenset({State.CREATE_FAILED, State.DELETE_COMPLETE, State.DELETE_IN_PROGRESS})


def ipams_with_scopes() -> QuerySet[Ipam]:
    scopes = IpamScope.objects.annotate(
        mirrored_pools=Count("pools", filter=Q(pools__missing_since__isnull=True))
    )
    return Ipam.objects.filter(missing_since__isnull=True).prefetch_related(
        Prefetch("scopes", queryset=scopes.filter(missing_since__isnull=True))
    )


def scope_pools(scope: IpamScope) -> QuerySet[IpamPool]:
    return (
        IpamPool.objects.filter(scope=scope, missing_since__isnull=True)
        .prefetch_related(live_cidrs())
        .order_by("depth", "name", "pool_id")
    )


def live_cidrs() -> Prefetch:
    return Prefetch(
        "cidrs",
        queryset=IpamPoolCidr.objects.filter(missing_since__isnull=True).order_by("cidr"),
    )


def pool_with_space() -> QuerySet[IpamPool]:
    return IpamPool.objects.select_related("scope__ipam", "source_pool").prefetch_related(
        live_cidrs(),
        Prefetch(
            "allocations", queryset=IpamPoolAllocation.objects.filter(missing_since__isnull=True)
        ),
    )


def pool_page(pool: IpamPool) -> dict[str, Any]:
    """What the pool page shows besides the pool: its children, and whether it is settling."""
    cidrs = list(pool.cidrs.all())
    creation = PoolCreation.objects.filter(pool=pool).first()
    awaiting_first_cidr = bool(
        creation
        and (creation.first_cidr or creation.first_netmask_length is not None)
        and not cidrs
        and not creation.error_code
        and pool.state not in FAILED_STATES
    )
    settling = (
        pool.is_settling
        or awaiting_first_cidr
        or any(c.state in SETTLING_CIDR_STATES for c in cidrs)
    )
    return {
        "children": pool.children.filter(missing_since__isnull=True).order_by("name", "pool_id"),
        "cidr_list": cidrs,
        "settling": settling,
        "creation": creation,
    }


def _url_maker(name: str) -> Callable[[Any], str]:
    """``reverse(name, args=[value])`` for many values: reversed once, then filled in."""
    before, _, after = reverse(name, args=["__value__"]).partition("__value__")
    return lambda value: f"{before}{quote(str(value), safe='')}{after}"


def pool_address_map(pool: IpamPool) -> addressmap.AddressMap:
    """The pool's CIDRs with its child pools, allocations and free space, to scale."""
    space = [
        IPNetwork(c.cidr)
        for c in pool.cidrs.all()
        if c.cidr and c.state in (CidrState.PROVISIONED, CidrState.PENDING_PROVISION)
    ]
    allocations = list(pool.allocations.all())
    children = {
        pool_id: name or description
        for pool_id, name, description in IpamPool.objects.filter(source_pool=pool).values_list(
            "pool_id", "name", "description"
        )
    }
    pool_url = _url_maker("pool_detail")
    allocation_url = _url_maker("admin:pools_ipampoolallocation_change")
    blocks = []
    for allocation in allocations:
        network = IPNetwork(allocation.cidr)
        if allocation.resource_type == "ipam-pool" and allocation.resource_id:
            label = children.get(allocation.resource_id) or allocation.resource_id
            href = pool_url(allocation.resource_id)
            blocks.append(addressmap.Block(network, "pool", label, href))
        else:
            label = allocation.description or allocation.resource_id or "allocation"
            blocks.append(
                addressmap.Block(network, "allocation", label, allocation_url(allocation.pk))
            )
    new_pool = reverse("pool_new")
    source = quote(pool.pool_id, safe="")
    for free in addressing.free_blocks(space, [b.network for b in blocks]):
        target = tree.create_here(pool, free)
        href = f"{new_pool}?source={source}&cidr={quote(str(target), safe='')}" if target else ""
        blocks.append(addressmap.Block(free, "free", "free", href))
    return addressmap.layout(space, blocks)
