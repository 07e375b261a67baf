"""Read queries: for the pages, and the facts AWS's rules judge requests by."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from netaddr import IPNetwork

from awsipam import addressing, rules
from awsipam.catalog import Violation
from awsipam.choices import (
    DELETED_STATES,
    ENDED_POOL_STATES,
    LIVE_CIDR_STATES,
    SETTLING_CIDR_STATES,
    SPACE_CIDR_STATES,
    AllocationResourceType,
)
from awsipam.facts import AllocationFacts, CidrFacts, PoolFacts, Quotas, ScopeFacts
from pools import addressmap, ledger, tree
from pools.models import (
    CidrState,
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
ALLOCATIONS_SHOWN = 100  # allocations on the pool page; the rest on its allocations page


def ipams_with_scopes() -> QuerySet[Ipam]:
    """The IPAMs with their scopes, each with its number of pools as the tree shows them
    (AWS still has them and they are not being deleted).

    Counted from the pools rather than taken from the ``PoolCount`` AWS gives each scope: the
    mirror reads that only with a full sync, so it misses every pool created or deleted since.
    The count reads an index of (scope, missing since, state) only (migration 0007).
    """
    return Ipam.objects.live().prefetch_related(
        Prefetch("scopes", queryset=scopes_with_pool_counts().live())
    )


def scopes_with_pool_counts() -> QuerySet[IpamScope]:
    """Scopes, each with ``mirrored_pools``: its pools AWS still has that are not being
    deleted (see :func:`ipams_with_scopes`)."""
    pools = IpamPool.objects.not_deleted().filter(scope=OuterRef("pk"))
    counts = pools.order_by().values("scope").annotate(n=Count("id")).values("n")
    return IpamScope.objects.annotate(mirrored_pools=Coalesce(Subquery(counts), 0))


def scope_last_read(scope: IpamScope) -> datetime | None:
    """When the mirror last read the scope or one of its pools from AWS (an index serves it)."""
    newest = (
        IpamPool.objects.filter(scope=scope, last_synced_at__isnull=False)
        .order_by("-last_synced_at")
        .values_list("last_synced_at", flat=True)
        .first()
    )
    return max((t for t in (newest, scope.last_synced_at) if t is not None), default=None)


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
        **pool_space(pool, cidrs),
        **edit_page(pool),
    }


def _url_maker(name: str) -> Callable[[Any], str]:
    """``reverse(name, args=[value])`` for many values: reversed once, then filled in."""
    before, _, after = reverse(name, args=["__value__"]).partition("__value__")
    return lambda value: f"{before}{quote(str(value), safe='')}{after}"


def pool_address_map(pool: IpamPool) -> addressmap.AddressMap:
    """The pool's CIDRs with its child pools, allocations and free ranges, to scale, and the
    free ranges the reservation ledger holds (one query), shown with their holder.

    Each block links to a page of the app: a child pool to its page, an allocation to its row
    on this pool's page, a free range to the creation form with the block it offers; a
    reserved range offers nothing.
    """
    space = [c.cidr for c in pool.cidrs.all() if c.cidr and c.state in SPACE_CIDR_STATES]
    allocations = list(pool.allocations.all())
    reserved = ledger.within(ledger.held(pool.ipam_id, pool.address_family), space) if space else []
    children = {
        pool_id: name or description
        for pool_id, name, description in IpamPool.objects.filter(source_pool=pool).values_list(
            "pool_id", "name", "description"
        )
    }
    pool_url = _url_maker("pool_detail")
    here = reverse("pool_detail", args=[pool.pool_id])
    blocks = []
    for allocation in allocations:
        network = allocation.cidr
        if allocation.resource_type == "ipam-pool" and allocation.resource_id:
            label = children.get(allocation.resource_id) or allocation.resource_id
            href = pool_url(allocation.resource_id)
            blocks.append(addressmap.Block(network, "pool", label, href))
        else:
            label = allocation.description or allocation.resource_id or "allocation"
            href = f"{here}#allocation-{quote(allocation.allocation_id, safe='')}"
            blocks.append(addressmap.Block(network, "allocation", label, href))
    used = [b.network for b in blocks]
    for free, held in ledger.reserved_ranges(space, used, reserved):
        blocks.append(
            addressmap.Block(free.cidr or free.span, "reserved", f"reserved: {held.holder}", "")
        )
    new_pool = reverse("pool_new")
    source = quote(pool.pool_id, safe="")
    for free in addressing.free_ranges(space, [*used, *ledger.cidrs(reserved)]):
        target = tree.create_here(pool, free)
        href = f"{new_pool}?source={source}&cidr={quote(str(target), safe='')}" if target else ""
        whole = free.cidr
        label = f"free {free.size_label}" if whole is None else "free"
        blocks.append(addressmap.Block(whole or free.span, "free", label, href))
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
    """The first possible source pools whose ID, name or description has ``text``.

    Asked on every keystroke, so index-backed: on PostgreSQL the text search uses the trigram
    indexes of migration 0007. SQLite has none: there the pools whose ID or name starts with
    the text come first, from a range of the indexed column, and only when they are too few
    is every pool's text searched.
    """
    choices = source_pool_choices(scope, family)
    text = text.strip()
    if not text:
        return list(choices[:SOURCE_SUGGESTIONS])
    anywhere = Q(pool_id__icontains=text) | Q(name__icontains=text) | Q(description__icontains=text)
    if connection.vendor == "postgresql":
        return list(choices.filter(anywhere)[:SOURCE_SUGGESTIONS])
    # In SQLite's binary order, the texts starting with ``text`` lie in [text, text + max).
    ceiling = text + "\U0010ffff"
    found: list[IpamPool] = []
    for column in ("pool_id", "name"):
        wanted = SOURCE_SUGGESTIONS - len(found)
        if wanted <= 0:
            break
        prefixed = choices.filter(**{f"{column}__gte": text, f"{column}__lt": ceiling})
        found += prefixed.exclude(pk__in=[p.pk for p in found])[:wanted]
    if len(found) < SOURCE_SUGGESTIONS:
        rest = choices.filter(anywhere).exclude(pk__in=[p.pk for p in found])
        found += rest[: SOURCE_SUGGESTIONS - len(found)]
    return found


def has_more_than(queryset: QuerySet, limit: int) -> bool:
    """Whether ``queryset`` has more than ``limit`` rows, counting no further than that."""
    return queryset[limit : limit + 1].exists()


def new_pool_depth(source: IpamPool | None) -> int:
    return rules.child_depth(pool_facts(source, with_space=False) if source else None)


# --- the pool's space on its page ---------------------------------------------------------


@dataclass(frozen=True)
class SpaceUse:
    """How much of the pool's provisioned space its allocations (child pools' included) take."""

    provisioned: int
    used: int

    @property
    def percent(self) -> float | None:
        if not self.provisioned:
            return None
        return round(100 * self.used / self.provisioned, 1)

    @property
    def in_words(self) -> str:
        return f"{self.used:,} of {self.provisioned:,} addresses"


@dataclass(frozen=True)
class AllocationRow:
    """One allocation as its row on the page shows it (worked out once, not per lookup)."""

    allocation_id: str
    cidr: str
    resource_type: str
    resource_id: str
    resource_url: str  # a child pool's page
    owner: str
    region: str
    description: str
    releasable: bool  # only custom allocations; a child pool's go with its CIDR
    in_aws: bool = True  # False once released


def allocation_rows(allocations: list[IpamPoolAllocation]) -> list[AllocationRow]:
    pool_url = _url_maker("pool_detail")
    return [
        AllocationRow(
            allocation_id=a.allocation_id,
            cidr=str(a.cidr),
            resource_type=a.resource_type,
            resource_id=a.resource_id,
            resource_url=pool_url(a.resource_id)
            if a.resource_type == AllocationResourceType.IPAM_POOL and a.resource_id
            else "",
            owner=a.resource_owner,
            region=a.resource_region,
            description=a.description,
            releasable=a.resource_type == AllocationResourceType.CUSTOM,
            in_aws=a.in_aws,
        )
        for a in allocations
    ]


def pool_space(pool: IpamPool, cidrs: list[IpamPoolCidr]) -> dict[str, Any]:
    """The pool's allocations in address order (the first ``ALLOCATIONS_SHOWN``), its use,
    and its CIDRs, live ones apart from deprovisioned ones. No query when the pool came
    from :func:`pool_with_space`."""
    allocations = by_address(pool.allocations.all())
    space = [c.cidr for c in cidrs if c.cidr is not None and c.state in SPACE_CIDR_STATES]
    return {
        "allocation_list": allocation_rows(allocations[:ALLOCATIONS_SHOWN]),
        "allocation_count": len(allocations),
        "space_use": SpaceUse(
            provisioned=sum(c.size for c in space), used=sum(a.cidr.size for a in allocations)
        ),
        "live_cidr_list": [c for c in cidrs if c.state != CidrState.DEPROVISIONED],
        "deprovisioned_cidr_list": [c for c in cidrs if c.state == CidrState.DEPROVISIONED],
        "deprovisionable_states": LIVE_CIDR_STATES,  # the others: cidr_not_live
    }


def pool_allocations(pool: IpamPool) -> list[AllocationRow]:
    """Every live allocation of the pool, in address order."""
    return allocation_rows(by_address(pool.allocations.all()))


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
