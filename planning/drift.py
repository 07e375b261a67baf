"""Drift: where AWS no longer has what the last apply gave it.

Pure: the plan's spec, the :class:`~planning.world.World` it is judged against, its
:class:`~planning.diff.Diff` and each node's last applied state (``PlanNode.applied``) in;
plain items out. Each bound node is compared three ways (the plan now, the last applied
state, AWS as the mirror has it):

- ``missing``: the node is bound but AWS no longer has its pool (gone, deleted, or its
  creation failed);
- ``changed``: a field of the pool differs in AWS from the last applied state, and from the
  plan (AWS equal to the last applied state while the plan differs is an edit not applied
  yet: the diff shows it, drift does not);
- ``unmanaged``: a live pool in the plan's space that the plan does not know
  (:attr:`Diff.outside`);
- ``reservation``: a live allocation, in a bound pool, over the block the plan holds for a
  node it has not created yet.

A plan with no bound node has no drift: it has not been applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from netaddr import IPNetwork

from awsipam import addressing
from awsipam.choices import ENDED_POOL_STATES, AllocationResourceType
from awsipam.constants import NETMASK_LIMITS, RESERVED_TAG_PREFIX
from planning.diff import Diff
from planning.requests import NAME_TAG
from planning.spec import NodeSpec, PlanSpec, Tree
from planning.world import LivePool, World

MISSING = "missing"
CHANGED = "changed"
UNMANAGED = "unmanaged"
RESERVATION = "reservation"
KINDS = (MISSING, CHANGED, UNMANAGED, RESERVATION)
LABELS = {
    MISSING: "pool missing",
    CHANGED: "changed in AWS",
    UNMANAGED: "not in the plan",
    RESERVATION: "allocation in a planned block",
}

ADOPT, REAPPLY, IGNORE = "adopt", "reapply", "ignore"
# What each kind of item can be answered with.
ACTIONS = {
    MISSING: (ADOPT, IGNORE),  # re-apply: the diff blocks a node whose pool is missing
    CHANGED: (ADOPT, REAPPLY, IGNORE),
    UNMANAGED: (ADOPT, IGNORE),
    RESERVATION: (IGNORE,),  # the plan's block moves by a repack, not by drift
}

# Tags the comparison leaves out: AWS's own [aws], and the app's owner tags [choice].
IGNORED_TAG_PREFIXES = (RESERVED_TAG_PREFIX, "ipamui:")
FIELDS = (
    "name",
    "cidr",
    "description",
    "min_netmask",
    "max_netmask",
    "default_netmask",
    "tags",
    "allocation_resource_tags",
)
NONE = "—"


@dataclass(frozen=True)
class DriftItem:
    """One drift, as text for people; ``key`` stays the same while the drift lasts."""

    key: str
    kind: str
    node: str  # the node's key ("" for an unmanaged pool at the top level)
    name: str  # the node's name (or the unmanaged pool's)
    field: str = ""
    plan: str = ""
    applied: str = ""
    aws: str = ""
    message: str = ""
    pool_id: str = ""
    reapplicable: bool = True  # False: applying the plan again would not change AWS here

    @property
    def actions(self) -> tuple[str, ...]:
        actions = ACTIONS.get(self.kind, (IGNORE,))
        return actions if self.reapplicable else tuple(a for a in actions if a != REAPPLY)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftItem:
        names = cls.__dataclass_fields__
        return cls(
            **{k: v if isinstance(v, bool) else str(v) for k, v in data.items() if k in names}
        )


def drift(
    spec: PlanSpec,
    world: World,
    diff: Diff,
    applied: Mapping[str, Mapping[str, Any]],
) -> list[DriftItem]:
    """The plan's drift items: missing pools, changed fields, unmanaged pools, allocations
    in planned blocks (in that order; within each, in the plan's order)."""
    nodes = list(Tree.of(spec.nodes).walk())
    if not any(n.bound for n in nodes):
        return []
    by_key = {n.key: n for n in spec.nodes}
    items: list[DriftItem] = []
    for node in nodes:
        if not node.bound:
            continue
        live = world.pools.get(node.pool_id)
        if live is None or live.facts.state in ENDED_POOL_STATES:
            state = "not in AWS" if live is None else str(live.facts.state)
            items.append(
                DriftItem(
                    key=f"{MISSING}|{node.key}",
                    kind=MISSING,
                    node=node.key,
                    name=node.name,
                    field="pool",
                    plan=node.pool_id,
                    applied=str((applied.get(node.key) or {}).get("pool_id") or NONE),
                    aws=state,
                    message=f"{node.name}'s pool {node.pool_id} is {state}.",
                    pool_id=node.pool_id,
                )
            )
            continue
        record = applied.get(node.key) or {}
        if record:
            items += _changed(node, record, live, spec.address_family)
    items += _unmanaged(diff, by_key, world)
    items += _in_reservations(nodes, by_key, spec, world)
    return items


# --- changed ----------------------------------------------------------------------------


def _tags(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {
        str(k): str(v)
        for k, v in pairs
        if k != NAME_TAG and not str(k).lower().startswith(IGNORED_TAG_PREFIXES)
    }


def _tag_text(tags: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items())) or NONE


def _mask(value: Any) -> str:
    return NONE if value in (None, "") else f"/{value}"


def _text(value: Any) -> str:
    return NONE if value in (None, "") else str(value)


def _cidrs(cidrs: Iterable[Any]) -> list[IPNetwork]:
    return sorted({IPNetwork(str(c)) for c in cidrs if c}, key=lambda c: c.sort_key())


def _cidr_text(cidrs: Iterable[IPNetwork]) -> str:
    return ", ".join(str(c) for c in cidrs) or NONE


def _changed(
    node: NodeSpec, record: Mapping[str, Any], live: LivePool, family: str
) -> list[DriftItem]:
    """The fields of ``node``'s pool that AWS changed since the last apply, each as
    (plan, last applied, AWS) compared by value and shown as text."""
    facts, limit = live.facts, NETMASK_LIMITS[family]
    low, high = facts.netmask_range

    def low_of(value: Any) -> int:
        return 0 if value in (None, "") else int(value)

    def high_of(value: Any) -> int:
        return limit if value in (None, "") else int(value)

    applied_cidrs = _cidrs(record.get("cidrs") or [record.get("cidr")])
    live_cidrs = _cidrs(c.cidr for c in facts.live_cidrs)
    plan_cidrs = _cidrs([node.cidr])
    # field: (plan, applied, aws) as comparable values, then as text
    compared: dict[str, tuple[Any, Any, Any, str, str, str]] = {
        "name": (
            node.name,
            str(record.get("name") or ""),
            live.name,
            _text(node.name),
            _text(record.get("name")),
            _text(live.name),
        ),
        "cidr": (
            plan_cidrs,
            applied_cidrs,
            live_cidrs,
            _cidr_text(plan_cidrs),
            _cidr_text(applied_cidrs),
            _cidr_text(live_cidrs),
        ),
        "description": (
            node.description,
            str(record.get("description") or ""),
            live.description,
            _text(node.description),
            _text(record.get("description")),
            _text(live.description),
        ),
        "min_netmask": (
            low_of(node.min_netmask),
            low_of(record.get("min_netmask")),
            low,
            _mask(low_of(node.min_netmask)),
            _mask(low_of(record.get("min_netmask"))),
            _mask(low),
        ),
        "max_netmask": (
            high_of(node.max_netmask),
            high_of(record.get("max_netmask")),
            high,
            _mask(high_of(node.max_netmask)),
            _mask(high_of(record.get("max_netmask"))),
            _mask(high),
        ),
        "default_netmask": (
            node.default_netmask,
            record.get("default_netmask"),
            facts.default_netmask,
            _mask(node.default_netmask),
            _mask(record.get("default_netmask")),
            _mask(facts.default_netmask),
        ),
    }
    for name, plan_pairs, applied_map, live_pairs in (
        ("tags", node.tags, record.get("tags") or {}, live.tags),
        (
            "allocation_resource_tags",
            node.allocation_resource_tags,
            record.get("allocation_resource_tags") or {},
            live.allocation_resource_tags,
        ),
    ):
        strip = _tags if name == "tags" else (lambda pairs: {str(k): str(v) for k, v in pairs})
        values = (strip(plan_pairs), strip(dict(applied_map).items()), strip(live_pairs))
        compared[name] = (*values, *(_tag_text(v) for v in values))  # type: ignore[assignment]

    items = []
    for name in FIELDS:
        plan, before, aws, plan_text, before_text, aws_text = compared[name]
        if aws in (before, plan):
            continue  # unchanged in AWS, or AWS already has what the plan says
        items.append(
            DriftItem(
                key=f"{CHANGED}|{node.key}|{name}",
                kind=CHANGED,
                node=node.key,
                name=node.name,
                field=name,
                plan=plan_text,
                applied=before_text,
                aws=aws_text,
                message=(
                    f"{node.name}'s {name.replace('_', ' ')} is {aws_text} in AWS; the last "
                    f"apply gave it {before_text}."
                ),
                pool_id=live.pool_id,
                # The apply provisions a missing CIDR; it never deprovisions one AWS added.
                reapplicable=name != "cidr" or not set(plan) <= set(aws),
            )
        )
    return items


# --- the rest of the space --------------------------------------------------------------


def _unmanaged(diff: Diff, by_key: Mapping[str, NodeSpec], world: World) -> list[DriftItem]:
    """The live pools in the plan's space the plan does not know, one item per pool."""
    cidrs: dict[str, list[IPNetwork]] = {}
    under: dict[str, str] = {}
    for outside in diff.outside:
        cidrs.setdefault(outside.pool_id, []).append(outside.cidr)
        under.setdefault(outside.pool_id, outside.under or "")
    items = []
    for pool_id, found in cidrs.items():
        holder = by_key.get(under[pool_id])
        where = f"under {holder.name}" if holder else "at the plan's top level"
        text = _cidr_text(_cidrs(found))
        items.append(
            DriftItem(
                key=f"{UNMANAGED}|{pool_id}",
                kind=UNMANAGED,
                node=holder.key if holder else "",
                name=holder.name if holder else "",
                field="pool",
                plan=NONE,
                applied=NONE,
                aws=f"{pool_id} {text}",
                message=f"The pool {pool_id} ({text}) {where} is not in the plan.",
                pool_id=pool_id,
            )
        )
    return items


def _in_reservations(
    nodes: list[NodeSpec], by_key: Mapping[str, NodeSpec], spec: PlanSpec, world: World
) -> list[DriftItem]:
    """Live allocations of a bound pool over the block of a node of the plan under it that
    is not created yet (the block the ledger holds for the plan)."""
    bound_ids = {n.pool_id for n in nodes if n.bound}
    items = []
    for node in nodes:
        if node.bound or node.cidr is None:
            continue
        parent = by_key.get(node.parent or "")
        if parent is not None:
            if not parent.bound:
                continue  # under a pool the plan creates: nothing live can be there
            pool_id = parent.pool_id
        else:
            pool_id = spec.parent_pool_id or world.parent_pool_id
        live = world.pools.get(pool_id) if pool_id else None
        if live is None:
            continue
        for allocation in live.facts.allocations:
            if allocation.resource_id and allocation.resource_id in bound_ids:
                continue
            if not addressing.overlapping(allocation.cidr, [node.cidr]):
                continue
            what = (
                f"the pool {allocation.resource_id}"
                if allocation.resource_type == AllocationResourceType.IPAM_POOL
                else f"a {allocation.resource_type or 'custom'} allocation"
                + (f" ({allocation.resource_id})" if allocation.resource_id else "")
            )
            items.append(
                DriftItem(
                    key=f"{RESERVATION}|{node.key}|{allocation.allocation_id or allocation.cidr}",
                    kind=RESERVATION,
                    node=node.key,
                    name=node.name,
                    field="cidr",
                    plan=str(node.cidr),
                    applied=NONE,
                    aws=str(allocation.cidr),
                    message=(
                        f"{what} takes {allocation.cidr} in {pool_id}, inside the block "
                        f"{node.cidr} the plan holds for {node.name}."
                    ),
                    pool_id=pool_id,
                )
            )
    return items
