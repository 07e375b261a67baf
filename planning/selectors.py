"""Read queries of the planner: a plan as a :class:`~planning.spec.PlanSpec`, and the
:class:`~planning.world.World` it is checked against, each in a fixed number of queries."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Collection
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from netaddr import IPNetwork

from awsipam.facts import IpamFacts
from planning.models import Plan, PlanNode
from planning.spec import Need, NodeSpec, PlanSpec
from planning.world import Held, LivePool, World
from pools import selectors as pool_selectors
from pools.models import IpamPool, IpamPoolCidr, Reservation

COLUMNS = (
    "pk",
    "parent_id",
    "key",
    "name",
    "intent",
    "prefix_length",
    "need_count",
    "need_length",
    "need_hosts",
    "need_growth",
    "cidr",
    "locale",
    "spare_slots",
    "min_netmask",
    "max_netmask",
    "default_netmask",
    "description",
    "tags",
    "allocation_resource_tags",
    "pool_aws_id",
)


@lru_cache(maxsize=65_536)
def network(text: str) -> IPNetwork:
    """A stored CIDR, parsed once per process (the planner never changes an IPNetwork)."""
    return IPNetwork(text)


def _pairs(mapping: dict | str | None) -> tuple[tuple[str, str], ...]:
    if isinstance(mapping, str):
        mapping = None if mapping in ("", "{}") else json.loads(mapping)
    return tuple(sorted((str(k), str(v)) for k, v in (mapping or {}).items()))


def node_spec(row: dict[str, Any], parent_key: str | None) -> NodeSpec:
    need = None
    if row["need_hosts"] is not None or row["need_length"] is not None:
        need = Need(
            count=row["need_count"] or 1,
            length=row["need_length"],
            hosts=int(row["need_hosts"]) if row["need_hosts"] is not None else None,
            growth=row["need_growth"],
        )
    cidr = row.get("raw_cidr", row.get("cidr"))
    return NodeSpec(
        key=row["key"],
        name=row["name"],
        parent=parent_key,
        intent=row["intent"],
        prefix_length=row["prefix_length"],
        need=need,
        cidr=network(str(cidr)) if cidr else None,
        locale=row["locale"] or None,
        spare_slots=row["spare_slots"],
        min_netmask=row["min_netmask"],
        max_netmask=row["max_netmask"],
        default_netmask=row["default_netmask"],
        description=row["description"],
        tags=_pairs(row.get("raw_tags", row.get("tags"))),
        allocation_resource_tags=_pairs(
            row.get("raw_allocation_resource_tags", row.get("allocation_resource_tags"))
        ),
        pool_id=row["pool_aws_id"],
    )


# The nodes of recently changed plans by version, kept by the process that wrote them
# once their transaction commits: the next edit of the plan reads no node rows. Every change
# of a plan's nodes goes through planning.services, which raises its version.
_RECENT: OrderedDict[tuple[int, int], tuple[tuple[NodeSpec, ...], dict[str, int]]] = OrderedDict()
RECENT_PLANS = 16


def _version_key(plan: Plan) -> tuple:
    """A plan's version, told apart from a deleted plan's whose id was reused."""
    return (plan.pk, plan.version, plan.updated_at)


def remember(plan: Plan, nodes: tuple[NodeSpec, ...], ids: dict[str, int]) -> None:
    key = _version_key(plan)

    def keep() -> None:
        _RECENT[key] = (nodes, dict(ids))
        _RECENT.move_to_end(key)
        while len(_RECENT) > RECENT_PLANS:
            _RECENT.popitem(last=False)

    transaction.on_commit(keep)


def load(plan: Plan) -> tuple[PlanSpec, dict[str, int]]:
    """The plan as a spec, with each node's row id by key: one query, no model instances
    (none at all when this process wrote the plan's current version)."""
    recent = _RECENT.get(_version_key(plan))
    if recent is not None:
        return spec_of(plan, recent[0]), dict(recent[1])
    # CIDRs and tags come as text: parsed through caches, not once per row by the fields.
    raw = {name: Cast(name, TextField()) for name in ("cidr", "tags", "allocation_resource_tags")}
    rows = list(
        PlanNode.objects.filter(plan=plan)
        .order_by("name", "key")
        .values(*(c for c in COLUMNS if c not in raw), **{f"raw_{k}": v for k, v in raw.items()})
    )
    keys = {row["pk"]: row["key"] for row in rows}
    nodes = tuple(node_spec(row, keys.get(row["parent_id"])) for row in rows)
    return spec_of(plan, nodes), {row["key"]: row["pk"] for row in rows}


def spec_of(plan: Plan, nodes: tuple[NodeSpec, ...]) -> PlanSpec:
    """A plan (saved or a draft not yet saved) with these nodes."""
    return PlanSpec(
        name=plan.name,
        address_family=plan.address_family,
        nodes=nodes,
        space=tuple(IPNetwork(c) for c in plan.space or ()),
        parent_pool_id=plan.parent_pool.pool_id if plan.parent_pool_id else "",
        ipam_id=plan.ipam.ipam_id,
        scope_id=plan.scope.scope_id,
        description=plan.description,
    )


def plan_spec(plan: Plan) -> PlanSpec:
    return load(plan)[0]


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


def world(plan: Plan, spec: PlanSpec, keys: Collection[str] | None = None) -> World:
    """What ``spec`` is checked against: the live pools it binds or grows under (with their
    CIDRs and allocations), the scope's top-level CIDRs, the ledger without this plan's own
    blocks, and the live pools' names the plan reuses. Seven queries, whatever the plan.

    ``keys``: only what judging and packing those nodes needs (their pools, their parents'
    pools, their names), for an edit."""
    ipam, scope = plan.ipam, plan.scope
    nodes = spec.nodes
    if keys is not None:
        by_key = {n.key: n for n in nodes}
        near = set(keys) | {by_key[k].parent for k in keys if k in by_key and by_key[k].parent}
        nodes = tuple(n for n in nodes if n.key in near)
    wanted = {n.pool_id for n in nodes if n.pool_id}
    if spec.parent_pool_id:
        wanted.add(spec.parent_pool_id)
    pools = {}
    if wanted:
        rows = pool_selectors.with_space(
            IpamPool.objects.live().filter(pool_id__in=wanted).select_related("scope")
        )
        pools = {p.pool_id: live_pool(p) for p in rows if not p.is_deleting}
    top_level: tuple = ()
    parents = {n.key for n in spec.nodes}
    if not spec.parent_pool_id and any(n.parent not in parents for n in nodes):
        top_level = tuple(
            IpamPoolCidr.objects.holding_space()
            .filter(pool__scope=scope, pool__source_pool_aws_id="", pool__missing_since=None)
            .values_list("pool__pool_id", "cidr")
        )
    ledger = Reservation.objects.filter(ipam=ipam, address_family=plan.address_family)
    if plan.pk is not None:  # a draft not yet saved holds nothing of its own
        ledger = ledger.exclude(plan_id=plan.pk)
    held = tuple(
        Held(r.cidr, r.kind, r.name, r.plan_id)
        for r in ledger.only("cidr", "kind", "name", "plan_id")
    )
    names = {n.name for n in nodes if n.name}
    # By the name index alone: with the IPAM's in the query, SQLite reads all its pools.
    live_names = frozenset(
        name
        for name, ipam_pk, pool_id in IpamPool.objects.not_deleted()
        .filter(name__in=names)
        .values_list("name", "ipam_id", "pool_id")
        if ipam_pk == ipam.pk and pool_id not in wanted
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
