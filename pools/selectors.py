"""Read queries: for the pages, and the facts AWS's rules judge requests by."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from netaddr import IPNetwork

from awsipam import addressing, rules
from awsipam.catalog import Violation
from awsipam.choices import (
    DELETED_STATES,
    ENDED_POOL_STATES,
    SETTLING_CIDR_STATES,
    SPACE_CIDR_STATES,
    AllocationResourceType,
)
from awsipam.facts import AllocationFacts, CidrFacts, PoolFacts, Quotas, ScopeFacts
from pools import addressmap, tree
from pools.models import (
    Ipam,
    IpamPool,
    IpamPoolAllocation,
    IpamPoolCidr,
    IpamScope,
    PoolCreation,
    by_address,
)
from pools.taskstate import task_state

SOURCE_SUGGESTIONS = 20  # suggestions for a source pool's search box


def ipams_with_scopes() -> QuerySet[Ipam]:
    scopes = IpamScope.objects.annotate(
        mirrored_pools=Count("pools", filter=Q(pools__missing_since__isnull=True))
    )
    return Ipam.objects.live().prefetch_related(Prefetch("scopes", queryset=scopes.live()))


def live_scopes() -> QuerySet[IpamScope]:
    return IpamScope.objects.live().select_related("ipam")


def live_cidrs() -> Prefetch:
    return Prefetch("cidrs", queryset=IpamPoolCidr.objects.live())


def pool_with_space() -> QuerySet[IpamPool]:
    return with_space(IpamPool.objects.select_related("scope__ipam", "source_pool"))


def pool_page(pool: IpamPool) -> dict[str, Any]:
    """What the pool page shows besides the pool: its children, and whether it is settling."""
    cidrs = by_address(pool.cidrs.all())
    creation = PoolCreation.objects.filter(pool=pool).first()
    awaiting_first_cidr = bool(
        creation
        and (creation.first_cidr or creation.first_netmask_length is not None)
        and not cidrs
        and not creation.error_code
        and pool.state not in ENDED_POOL_STATES
    )
    settling = (
        pool.is_settling
        or awaiting_first_cidr
        or any(c.state in SETTLING_CIDR_STATES for c in cidrs)
    )
    return {
        "children": pool.children.live().order_by("name", "pool_id"),
        "cidr_list": cidrs,
        "settling": settling,
        "creation": creation,
        "follow_task": task_state(pool.follow_task_id),
        **edit_page(pool),
    }


def _url_maker(name: str) -> Callable[[Any], str]:
    """``reverse(name, args=[value])`` for many values: reversed once, then filled in."""
    before, _, after = reverse(name, args=["__value__"]).partition("__value__")
    return lambda value: f"{before}{quote(str(value), safe='')}{after}"


def pool_address_map(pool: IpamPool) -> addressmap.AddressMap:
    """The pool's CIDRs with its child pools, allocations and free space, to scale."""
    space = [c.cidr for c in pool.cidrs.all() if c.cidr and c.state in SPACE_CIDR_STATES]
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
        network = allocation.cidr
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


# --- facts for AWS's rules ----------------------------------------------------------------


def quotas() -> Quotas:
    return Quotas(**settings.IPAM_QUOTAS)


def with_space(queryset: QuerySet[IpamPool]) -> QuerySet[IpamPool]:
    """Pools with their live CIDRs and allocations fetched (two queries for all of them)."""
    return queryset.prefetch_related(
        live_cidrs(), Prefetch("allocations", queryset=IpamPoolAllocation.objects.live())
    )


def pool_facts(
    pool: IpamPool, *, with_space: bool = True, with_children: bool = False
) -> PoolFacts:
    """The pool as :mod:`awsipam.rules` sees it, from the mirror: with its CIDRs and
    allocations (two queries, none if :func:`with_space` fetched them), and with how many
    child pools it has if asked (one more)."""
    space: dict[str, Any] = {}
    if with_space:
        space = {
            "cidrs": tuple(CidrFacts(c.cidr, c.state) for c in pool.cidrs.all() if c.in_aws),
            "allocations": tuple(
                AllocationFacts(a.allocation_id, a.cidr, a.resource_type, a.resource_id)
                for a in pool.allocations.all()
                if a.in_aws
            ),
        }
    if with_children:
        space["child_count"] = pool.children.not_deleted().count()
    return PoolFacts(
        pool_id=pool.pool_id,
        scope_id=pool.scope.scope_id,
        scope_type=pool.scope_type,
        address_family=pool.address_family,
        state=pool.state,
        depth=pool.depth,
        locale=pool.locale or None,
        min_netmask=pool.allocation_min_netmask_length,
        max_netmask=pool.allocation_max_netmask_length,
        default_netmask=pool.allocation_default_netmask_length,
        source_pool_id=pool.source_pool_aws_id or None,
        public_ip_source=pool.public_ip_source or None,
        has_source_resource=bool(pool.source_resource),
        **space,
    )


def scope_facts(scope: IpamScope, *, with_top_level: bool = False) -> ScopeFacts:
    """The scope as the rules see it; ``with_top_level`` adds its top-level pools' CIDRs."""
    top_level: tuple[tuple[str, IPNetwork], ...] = ()
    if with_top_level:
        top_level = tuple(
            IpamPoolCidr.objects.holding_space()
            .filter(pool__scope=scope, pool__source_pool_aws_id="", pool__missing_since=None)
            .values_list("pool__pool_id", "cidr")
        )
    return ScopeFacts(
        scope_id=scope.scope_id,
        scope_type=scope.scope_type,
        operating_regions=tuple(scope.ipam.operating_regions),
        is_default=scope.is_default,
        pool_count=scope.pools.not_deleted().count(),
        top_level_cidrs=top_level,
    )


def source_pool_choices(scope: IpamScope | None, family: str) -> QuerySet[IpamPool]:
    """The pools a new pool of ``family`` in ``scope`` may take its space from."""
    if scope is None:
        return IpamPool.objects.none()
    return (
        IpamPool.objects.not_deleted()
        .filter(scope=scope, address_family=family)
        .select_related("scope")
        .order_by("depth", "name", "pool_id")
    )


def source_pool_suggestions(scope: IpamScope | None, family: str, text: str) -> list[IpamPool]:
    """The first possible source pools whose ID, name or description has ``text``."""
    choices = source_pool_choices(scope, family)
    if text := text.strip():
        choices = choices.filter(
            Q(pool_id__icontains=text) | Q(name__icontains=text) | Q(description__icontains=text)
        )
    return list(choices[:SOURCE_SUGGESTIONS])


def has_more_than(queryset: QuerySet, limit: int) -> bool:
    """Whether ``queryset`` has more than ``limit`` rows, counting no further than that."""
    return queryset[limit : limit + 1].exists()


def new_pool_depth(source: IpamPool | None) -> int:
    return rules.child_depth(pool_facts(source, with_space=False) if source else None)


# --- the pool page: its ancestry, and what deleting it takes --------------------------------

DELETE_LIST_CAP = 20  # descendant pools listed by name in the delete confirmation


def edit_page(pool: IpamPool) -> dict[str, Any]:
    """The breadcrumbs' ancestors and the delete confirmation, each read only if the page
    shows it (a status poll shows neither)."""
    return {
        "ancestors": SimpleLazyObject(lambda: pool_ancestors(pool)),
        "delete_summary": SimpleLazyObject(lambda: delete_summary(pool)),
    }


def pool_ancestors(pool: IpamPool) -> list[IpamPool | str]:
    """Every pool above ``pool``, the top-level one first: one query whatever the depth (at
    most ten levels, so one join per level), none for a pool of depth 1 or 2 whose source pool
    came with it. An ancestor the mirror does not have (yet) ends the chain as its AWS id."""
    source = pool.source_pool if IpamPool.source_pool.is_cached(pool) else None
    if source is None and pool.source_pool_id is not None:
        source = IpamPool.objects.get(pk=pool.source_pool_id)
    if source is not None and source.source_pool_id is not None:
        chain = "__".join(["source_pool"] * max(1, source.depth - 1))
        source = IpamPool.objects.select_related(chain).get(pk=source.pk)
    ancestors: list[IpamPool | str] = []
    node, missing = source, pool.source_pool_aws_id if source is None else ""
    while node is not None:
        ancestors.append(node)
        if node.source_pool_id is None:
            missing = node.source_pool_aws_id
            break
        if not IpamPool.source_pool.is_cached(node):  # deeper than AWS allows: stop here
            break
        node = node.source_pool
    if missing:
        ancestors.append(missing)
    return ancestors[::-1]


@dataclass(frozen=True)
class DeleteSummary:
    """What a cascade delete of a pool takes with it, from the mirror, and what AWS answers a
    delete without cascade (and with it) before anyone asks."""

    pool_count: int  # descendant pools, every level
    cidr_count: int  # CIDRs of the pool and its descendants
    allocation_count: int  # allocations of resources other than pools (those are CIDRs)
    pools: list[dict[str, Any]]  # the first DELETE_LIST_CAP descendants, by depth
    refused_without_cascade: list[Violation]
    refused_with_cascade: list[Violation]

    @property
    def more_pools(self) -> int:
        return self.pool_count - len(self.pools)


def descendants_of(pool: IpamPool) -> RawSQL:
    """The primary keys of every pool below ``pool`` that is not deleted (nor below one that
    is), as a subquery: a recursive CTE, which SQLite and PostgreSQL both run along the index
    on ``source_pool`` without sending a row here."""
    table = IpamPool._meta.db_table
    deleted = sorted(DELETED_STATES)
    marks = ", ".join(["%s"] * len(deleted))
    live = f"missing_since IS NULL AND state NOT IN ({marks})"
    sql = (
        f"WITH RECURSIVE below(id) AS ("
        f"SELECT id FROM {table} WHERE source_pool_id = %s AND {live} "
        f"UNION ALL SELECT p.id FROM {table} p JOIN below b ON p.source_pool_id = b.id "
        f"WHERE p.{live.replace(' AND state', ' AND p.state')}"
        f") SELECT id FROM below"
    )
    return RawSQL(sql, [pool.pk, *deleted, *deleted])


def delete_summary(pool: IpamPool) -> DeleteSummary:
    """Four counting queries over :func:`descendants_of` and one for the children's count the
    rules take, whatever the size of the tree below the pool."""
    below = IpamPool.objects.filter(pk__in=descendants_of(pool))
    in_tree = Q(pool=pool) | Q(pool__in=descendants_of(pool))
    facts = pool_facts(pool, with_children=True)
    request = {"IpamPoolId": pool.pool_id}
    return DeleteSummary(
        pool_count=below.count(),
        cidr_count=IpamPoolCidr.objects.holding_space().filter(in_tree).count(),
        allocation_count=IpamPoolAllocation.objects.live()
        .filter(in_tree)
        .exclude(resource_type=AllocationResourceType.IPAM_POOL)
        .count(),
        pools=list(
            below.order_by("depth", "name", "pool_id").values(
                "pool_id", "name", "description", "depth", "state"
            )[:DELETE_LIST_CAP]
        ),
        refused_without_cascade=rules.check_delete_ipam_pool(request, pool=facts),
        refused_with_cascade=rules.check_delete_ipam_pool(request | {"Cascade": True}, pool=facts),
    )
