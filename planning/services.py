"""Changing plans: every change packs the plan, re-judges what it touched, keeps the ledger.

Each public function is one change in one transaction. Changes to the plans of one IPAM are
serialised on the IPAM's row, so two drafts packed at once cannot both take a free block.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction
from django.utils import timezone
from netaddr import IPNetwork

from planning import checks, packer
from planning.findings import Finding
from planning.models import Plan, PlanNode
from planning.selectors import node_rows, plan_spec, row_values, world
from planning.spec import NodeSpec, PlanSpec, Tree
from planning.world import World
from pools import selectors as pool_selectors
from pools.models import Ipam, IpamPool, IpamScope, Reservation


class PlanError(Exception):
    """A change the plan cannot take, with the field it concerns."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.field, self.code = field, code


@dataclass
class Outcome:
    plan: Plan
    packing: packer.Packing
    findings: list[Finding]


def _taken(spec: PlanSpec, live: World) -> tuple[dict[str | None, list[IPNetwork]], list, tuple]:
    """What the packer must not place on: per parent, the live allocations of a bound parent
    that are not the plan's (and the scope's top-level CIDRs at the top); the ledger; and the
    top level's space and rules when the plan grows under a live pool."""
    bound = {n.pool_id for n in spec.nodes if n.pool_id}
    taken: dict[str | None, list[IPNetwork]] = {}
    for node in spec.nodes:
        pool = live.pools.get(node.pool_id) if node.pool_id else None
        if pool is not None:
            taken[node.key] = [a.cidr for a in pool.facts.allocations if a.resource_id not in bound]
    root_space, root_rules = None, None
    parent = live.pools.get(spec.parent_pool_id) if spec.parent_pool_id else None
    if parent is not None:
        taken[None] = [a.cidr for a in parent.facts.allocations if a.resource_id not in bound]
        root_space, root_rules = parent.facts.space, parent.facts.netmask_range
    else:
        taken[None] = [cidr for pool_id, cidr in live.top_level if pool_id not in bound]
    return taken, [h.cidr for h in live.held], (root_space, root_rules)


def pack(
    spec: PlanSpec, live: World, *, replace_keys: frozenset[str] = frozenset()
) -> packer.Packing:
    taken, held, (root_space, root_rules) = _taken(spec, live)
    return packer.pack(
        spec,
        taken=taken,
        held=held,
        root_space=root_space,
        root_rules=root_rules,
        replace_keys=replace_keys,
    )


def _lock(plan: Plan) -> Plan:
    Ipam.objects.select_for_update().filter(pk=plan.ipam_id).first()
    return Plan.objects.select_related("ipam", "scope", "parent_pool").get(pk=plan.pk)


def commit(
    plan: Plan,
    after: PlanSpec,
    *,
    touched: Iterable[str] | None,
    replace_keys: frozenset[str] = frozenset(),
    rows: dict[str, PlanNode] | None = None,
) -> Outcome:
    """Pack ``after``, write the nodes whose rows differ, re-judge the nodes ``touched`` (None:
    all of them) with those the packer moved, and write the findings and the ledger."""
    live = world(plan, after)
    packing = pack(after, live, replace_keys=replace_keys)
    packed = after.with_nodes(packing.nodes)
    _write_nodes(plan, packed, rows)
    tree = Tree.of(packed.nodes)
    if touched is None:
        findings = checks.validate(packed, live) + packing.findings
    else:
        keys = checks.affected_by(tree, [*touched, *packing.moved])
        kept = [
            f
            for f in plan.findings
            if f.get("node") not in keys
            and f.get("node") in tree.nodes
            and f.get("code") not in checks.PLAN_WIDE_CODES
        ]
        findings = [Finding.from_dict(f) for f in kept]
        findings += checks.validate(packed, live, only=keys)
        findings += [f for f in packing.findings if f.node in keys]
    plan.findings = [f.as_dict() for f in _ordered(findings, tree)]
    plan.version += 1
    plan.validated_version = plan.version
    plan.based_on_sync = pool_selectors.scope_last_read(plan.scope)
    plan.save()
    _hold_blocks(plan, packed)
    return Outcome(plan, packing, findings)


def _ordered(findings: list[Finding], tree: Tree) -> list[Finding]:
    order = {n.key: i for i, n in enumerate(tree.walk())}
    unique = {(f.node, f.code, f.message): f for f in findings}
    return sorted(
        unique.values(),
        key=lambda f: (not f.is_error, -1 if f.node is None else order.get(f.node, 1 << 30)),
    )


def _write_nodes(plan: Plan, spec: PlanSpec, rows: dict[str, PlanNode] | None) -> None:
    """Insert, update and delete node rows so they hold ``spec`` (a few queries in all)."""
    if rows is None:
        rows = {r.key: r for r in PlanNode.objects.filter(plan=plan)}
    wanted = {n.key: n for n in spec.nodes}
    gone = [r.pk for key, r in rows.items() if key not in wanted]
    if gone:
        PlanNode.objects.filter(pk__in=gone).delete()
    new = [PlanNode(plan=plan, **row_values(n)) for key, n in wanted.items() if key not in rows]
    PlanNode.objects.bulk_create(new)
    by_key = {**{k: r for k, r in rows.items() if k in wanted}, **{r.key: r for r in new}}
    pools = dict(
        IpamPool.objects.filter(
            pool_id__in={n.pool_id for n in spec.nodes if n.pool_id}
        ).values_list("pool_id", "pk")
    )
    changed: list[PlanNode] = []
    fields = [*row_values(spec.nodes[0]).keys(), "parent", "pool"] if spec.nodes else []
    for key, node in wanted.items():
        row = by_key[key]
        values = {
            **row_values(node),
            "parent_id": by_key[node.parent].pk if node.parent in by_key else None,
            "pool_id": pools.get(node.pool_id),
        }
        if any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            changed.append(row)
    if changed:
        PlanNode.objects.bulk_update(changed, fields, batch_size=500)


def _hold_blocks(plan: Plan, spec: PlanSpec) -> None:
    """The plan's rows in the ledger: the outermost block of each unbound chain."""
    tree = Tree.of(spec.nodes)
    rows = []
    for node in tree.walk():
        parent = tree.parent_of(node.key)
        if node.bound or node.cidr is None or (parent is not None and not parent.bound):
            continue
        rows.append(
            Reservation(
                ipam_id=plan.ipam_id,
                address_family=plan.address_family,
                cidr=node.cidr,
                kind=Reservation.Kind.PLAN,
                name=f"plan {plan.name}: {node.name}"[:256],
                plan_id=plan.pk,
            )
        )
    Reservation.objects.filter(plan_id=plan.pk).delete()
    Reservation.objects.bulk_create(rows)


# --- the changes ------------------------------------------------------------------------


@transaction.atomic
def plan_create(
    *,
    ipam: Ipam,
    scope: IpamScope,
    address_family: str,
    name: str,
    space: Iterable[IPNetwork] = (),
    parent_pool: IpamPool | None = None,
    description: str = "",
    nodes: Iterable[NodeSpec] = (),
    user: Any = None,
) -> Outcome:
    Ipam.objects.select_for_update().filter(pk=ipam.pk).first()
    plan = Plan.objects.create(
        ipam=ipam,
        scope=scope,
        address_family=address_family,
        name=name,
        description=description,
        space=[str(c) for c in space],
        parent_pool=parent_pool,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    plan = _lock(plan)
    spec = plan_spec(plan, rows=())
    return commit(plan, spec.with_nodes(nodes), touched=None, rows={})


def _change(plan: Plan, edit, *, touched_of=None, replace_keys=frozenset()) -> Outcome:
    plan = _lock(plan)
    rows = list(node_rows(plan))
    before = plan_spec(plan, rows)
    after, touched = edit(before)
    return commit(
        plan, after, touched=touched, replace_keys=replace_keys, rows={r.key: r for r in rows}
    )


def _node(spec: PlanSpec, key: str) -> NodeSpec:
    for node in spec.nodes:
        if node.key == key:
            return node
    raise PlanError("That node is not in this plan.", field="node", code="node_unknown")


@transaction.atomic
def node_add(plan: Plan, node: NodeSpec) -> Outcome:
    def edit(spec: PlanSpec) -> tuple[PlanSpec, list[str]]:
        if any(n.key == node.key for n in spec.nodes):
            # A second submit of one form (its key is made when the form is shown).
            raise PlanError(
                "This node is in the plan already.", field="key", code="node_key_exists"
            )
        if node.parent is not None:
            _node(spec, node.parent)
        return spec.with_nodes([*spec.nodes, node]), [node.key]

    return _change(plan, edit)


@transaction.atomic
def node_update(plan: Plan, key: str, **changes: Any) -> Outcome:
    """Change a node's fields (name, intent, size, pinned CIDR, locale, rules, tags...).

    A resize keeps the node where it is (the packer grows or shrinks it in place, or says
    renumbering is needed); a new pin is taken as given and judged."""

    def edit(spec: PlanSpec) -> tuple[PlanSpec, list[str]]:
        current = _node(spec, key)
        updated = replace(current, **changes)
        nodes = [updated if n.key == key else n for n in spec.nodes]
        return spec.with_nodes(nodes), [key]

    return _change(plan, edit)


@transaction.atomic
def node_move(plan: Plan, key: str, parent_key: str | None) -> Outcome:
    """Put a node (with its subtree) under another parent. Its CIDR stays if it fits there;
    otherwise the node is placed anew and its unbound descendants keep their offsets in it."""
    keep: set[str] = set()

    def edit(spec: PlanSpec) -> tuple[PlanSpec, list[str]]:
        node = _node(spec, key)
        tree = Tree.of(spec.nodes)
        if node.bound:
            raise PlanError(
                "This node's pool exists in AWS, which cannot move a pool to another source.",
                field="parent",
                code="bound_cannot_move",
            )
        if parent_key is not None:
            _node(spec, parent_key)
            if parent_key == key or parent_key in {n.key for n in tree.walk(key)}:
                raise PlanError(
                    "A node cannot move under itself or its own descendants.",
                    field="parent",
                    code="move_into_itself",
                )
        moved = replace(node, parent=parent_key)
        nodes = [moved if n.key == key else n for n in spec.nodes]
        new_parent = next((n for n in nodes if n.key == parent_key), None)
        fits = node.cidr is not None and (
            new_parent is None or new_parent.cidr is None or node.cidr in new_parent.cidr
        )
        if not fits and not node.pinned:
            keep.add(key)
        old_parent = node.parent
        return spec.with_nodes(nodes), [key, *([old_parent] if old_parent else [])]

    outcome = _change(plan, edit)
    if keep:
        return _relocate(outcome.plan, key)
    return outcome


def _relocate(plan: Plan, key: str) -> Outcome:
    """Place ``key`` anew; its unbound, unpinned descendants keep their offset inside it."""
    plan = _lock(plan)
    rows = list(node_rows(plan))
    spec = plan_spec(plan, rows)
    node = _node(spec, key)
    old = node.cidr
    cleared = spec.with_nodes(replace(n, cidr=None) if n.key == key else n for n in spec.nodes)
    live = world(plan, cleared)
    placed = pack(cleared, live).cidr_of(key)
    tree = Tree.of(spec.nodes)
    inner = {n.key for n in tree.walk(key)}
    nodes = []
    for n in cleared.nodes:
        if n.key in inner and not n.fixed and n.cidr is not None:
            if placed is not None and old is not None:
                offset = n.cidr.first - old.first
                n = replace(n, cidr=IPNetwork((placed.first + offset, n.cidr.prefixlen)))
            else:
                n = replace(n, cidr=None)
        elif n.key == key:
            n = replace(n, cidr=placed)
        nodes.append(n)
    return commit(
        plan, spec.with_nodes(nodes), touched=[key, *inner], rows={r.key: r for r in rows}
    )


@transaction.atomic
def node_delete(plan: Plan, key: str) -> Outcome:
    """Remove a node with its subtree; nothing else moves."""

    def edit(spec: PlanSpec) -> tuple[PlanSpec, list[str]]:
        node = _node(spec, key)
        gone = {key, *(n.key for n in Tree.of(spec.nodes).walk(key))}
        nodes = [n for n in spec.nodes if n.key not in gone]
        return spec.with_nodes(nodes), [node.parent] if node.parent else []

    return _change(plan, edit)


@transaction.atomic
def plan_repack(plan: Plan, under: str | None = None) -> Outcome:
    """Place anew every unbound, unpinned node under ``under`` (None: the whole plan): the
    explicit renumbering the packer never does by itself."""

    def edit(spec: PlanSpec) -> tuple[PlanSpec, None]:
        return spec, None

    plan_ = _lock(plan)
    spec = plan_spec(plan_)
    tree = Tree.of(spec.nodes)
    keys = frozenset(n.key for n in (tree.walk(under) if under else tree.nodes.values()))
    return _change(plan_, edit, replace_keys=keys)


@transaction.atomic
def plan_replace_nodes(plan: Plan, nodes: Iterable[NodeSpec]) -> Outcome:
    """An upload into an existing plan: its nodes become these (kept keys update in place)."""

    def edit(spec: PlanSpec) -> tuple[PlanSpec, None]:
        return spec.with_nodes(nodes), None

    return _change(plan, edit)


@transaction.atomic
def plan_update(plan: Plan, **changes: Any) -> Outcome:
    """The plan's own fields: name, description, space, status."""
    plan = _lock(plan)
    for name, value in changes.items():
        setattr(plan, name, [str(c) for c in value] if name == "space" else value)
    plan.save()
    return _change(plan, lambda spec: (spec, None))


@transaction.atomic
def plan_validate(plan: Plan) -> Outcome:
    """Judge the whole plan again (after a sync, say), packing nothing new."""
    return _change(plan, lambda spec: (spec, None))


def plan_delete(plan: Plan) -> None:
    with transaction.atomic():
        Reservation.objects.filter(plan_id=plan.pk).delete()
        plan.delete()


def is_stale(plan: Plan) -> bool:
    """AWS was read again since the plan was last judged."""
    last = pool_selectors.scope_last_read(plan.scope)
    return bool(last and plan.based_on_sync and last > plan.based_on_sync)


def now() -> Any:
    return timezone.now()
