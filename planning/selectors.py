"""Read queries of the planner: a plan as a :class:`~planning.spec.PlanSpec`, and the
:class:`~planning.world.World` it is checked against, each in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from netaddr import IPNetwork

from awsipam.constants import NO_LOCALE
from awsipam.facts import IpamFacts
from planning.models import Plan, PlanNode
from planning.spec import Need, NodeSpec, PlanSpec
from planning.world import Held, LivePool, World
from pools import selectors as pool_selectors
from pools.models import IpamPool, IpamPoolCidr, Reservation


def node_rows(plan: Plan) -> QuerySet[PlanNode]:
    return PlanNode.objects.filter(plan=plan).select_related("parent").order_by("name", "key")


def node_spec(row: PlanNode, parent_key: str | None) -> NodeSpec:
    need = None
    if row.need_hosts is not None or row.need_length is not None:
        need = Need(
            count=row.need_count or 1,
            length=row.need_length,
            hosts=int(row.need_hosts) if row.need_hosts is not None else None,
            growth=row.need_growth,
        )
    return NodeSpec(
        key=row.key,
        name=row.name,
        parent=parent_key,
        intent=row.intent,
        prefix_length=row.prefix_length,
        need=need,
        cidr=row.cidr,
        locale=row.locale or None,
        spare_slots=row.spare_slots,
        min_netmask=row.min_netmask,
        max_netmask=row.max_netmask,
        default_netmask=row.default_netmask,
        description=row.description,
        tags=tuple(sorted((str(k), str(v)) for k, v in (row.tags or {}).items())),
        allocation_resource_tags=tuple(
            sorted((str(k), str(v)) for k, v in (row.allocation_resource_tags or {}).items())
        ),
        pool_id=row.pool_aws_id,
    )


def row_values(node: NodeSpec) -> dict:
    """A node's columns (all but plan and parent) from its spec."""
    need = node.need
    return {
        "key": node.key,
        "name": node.name,
        "intent": node.intent,
        "prefix_length": node.prefix_length,
        "need_count": need.count if need else None,
        "need_length": need.length if need else None,
        "need_hosts": need.hosts if need else None,
        "need_growth": need.growth if need else 0,
        "cidr": node.cidr,
        "locale": node.locale or "",
        "spare_slots": node.spare_slots,
        "min_netmask": node.min_netmask,
        "max_netmask": node.max_netmask,
        "default_netmask": node.default_netmask,
        "description": node.description,
        "tags": dict(node.tags),
        "allocation_resource_tags": dict(node.allocation_resource_tags),
        "pool_aws_id": node.pool_id,
    }


def plan_spec(plan: Plan, rows: Iterable[PlanNode] | None = None) -> PlanSpec:
    rows = list(node_rows(plan) if rows is None else rows)
    keys = {row.pk: row.key for row in rows}
    return PlanSpec(
        name=plan.name,
        address_family=plan.address_family,
        nodes=tuple(node_spec(row, keys.get(row.parent_id)) for row in rows),
        space=tuple(IPNetwork(c) for c in plan.space or ()),
        parent_pool_id=plan.parent_pool.pool_id if plan.parent_pool_id else "",
        ipam_id=plan.ipam.ipam_id,
        scope_id=plan.scope.scope_id,
        description=plan.description,
    )


def live_pool(pool: IpamPool) -> LivePool:
    return LivePool(
        facts=pool_selectors.pool_facts(pool),
        name=pool.name,
        description=pool.description,
        tags=tuple(sorted((str(k), str(v)) for k, v in (pool.tags or {}).items())),
        allocation_resource_tags=tuple(
            sorted((str(k), str(v)) for k, v in (pool.allocation_resource_tags or {}).items())
        ),
    )


def world(plan: Plan, spec: PlanSpec) -> World:
    """What ``spec`` is checked against: the live pools it binds or grows under (with their
    CIDRs and allocations), the scope's top-level CIDRs, the ledger without this plan's own
    blocks, and the live pools' names the plan reuses. Seven queries, whatever the plan."""
    ipam, scope = plan.ipam, plan.scope
    wanted = {n.pool_id for n in spec.nodes if n.pool_id}
    if spec.parent_pool_id:
        wanted.add(spec.parent_pool_id)
    pools = {}
    if wanted:
        rows = pool_selectors.with_space(
            IpamPool.objects.live().filter(pool_id__in=wanted).select_related("scope")
        )
        pools = {p.pool_id: live_pool(p) for p in rows if not p.is_deleting}
    top_level = tuple(
        IpamPoolCidr.objects.holding_space()
        .filter(pool__scope=scope, pool__source_pool_aws_id="", pool__missing_since=None)
        .values_list("pool__pool_id", "cidr")
    )
    held = tuple(
        Held(r.cidr, r.kind, r.name, r.plan_id)
        for r in Reservation.objects.filter(ipam=ipam, address_family=plan.address_family)
        .exclude(plan_id=plan.pk)
        .only("cidr", "kind", "name", "plan_id")
    )
    names = {n.name for n in spec.nodes if n.name}
    live_names = frozenset(
        IpamPool.objects.not_deleted()
        .filter(ipam=ipam, name__in=names)
        .exclude(pool_id__in=wanted)
        .values_list("name", flat=True)
    )
    return World(
        ipam=IpamFacts(ipam.ipam_id, ipam.region, tuple(ipam.operating_regions), tier=ipam.tier),
        scope=pool_selectors.scope_facts(scope),
        quotas=pool_selectors.quotas(),
        pools=pools,
        top_level=top_level,
        held=held,
        live_names=live_names,
        parent_pool_id=spec.parent_pool_id,
    )


def locale_label(locale: str | None) -> str:
    return "no locale" if locale in (None, NO_LOCALE) else locale
