"""Changing plans: every change packs the plan, re-judges what it touched, keeps the ledger.

Each public function is one change in one transaction. Changes to the plans of one IPAM are
serialised on the IPAM's row, so two drafts packed at once cannot both take a free block.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction
from netaddr import IPNetwork

from planning import checks, packer
from planning.findings import Finding, ordered
from planning.models import Plan, PlanNode
from planning.selectors import load, plan_spec, remember, row_values, spec_of, world
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
    spec: PlanSpec,
    live: World,
    *,
    replace_keys: frozenset[str] = frozenset(),
    parents: Collection[str | None] | None = None,
) -> packer.Packing:
    taken, held, (root_space, root_rules) = _taken(spec, live)
    return packer.pack(
        spec,
        taken=taken,
        held=held,
        root_space=root_space,
        root_rules=root_rules,
        replace_keys=replace_keys,
        parents=parents,
    )


def _lock(plan: Plan) -> Plan:
    Ipam.objects.select_for_update().filter(pk=plan.ipam_id).first()
    return Plan.objects.select_related("ipam", "scope", "parent_pool").get(pk=plan.pk)


def commit(
    plan: Plan,
    before: PlanSpec,
    after: PlanSpec,
    ids: dict[str, int],
    *,
    touched: Iterable[str] | None,
    replace_keys: frozenset[str] = frozenset(),
) -> Outcome:
    """Pack ``after``, write the nodes that differ from ``before``, judge again the nodes
    ``touched`` (None: the whole plan) and what they affect, write the findings and the ledger.

    For an edit, only the parents it touched are packed and only what they affect is judged
    and read from the mirror, so the work does not grow with the plan."""
    tree = Tree.of(after.nodes)
    keys = None if touched is None else checks.affected_by(tree, touched)
    live = world(plan, after, keys)
    parents: set[str | None] | None = None
    if keys is not None:
        parents = set(keys)
        if any(tree.nodes[k].parent not in tree.nodes for k in keys):
            parents.add(None)
    packing = pack(after, live, replace_keys=replace_keys, parents=parents)
    packed = after.with_nodes(packing.nodes)
    tree = Tree.of(packed.nodes)
    ids = _write_nodes(plan, before, packed, ids, tree)
    if keys is None:
        findings = checks.validate(packed, live, tree=tree) + packing.findings
    else:
        keys |= checks.affected_by(tree, packing.moved)
        kept = [
            Finding.from_dict(f)
            for f in plan.findings
            if f.get("node") not in keys
            and f.get("node") in tree.nodes
            and f.get("code") not in checks.PLAN_WIDE_CODES
        ]
        findings = kept + checks.validate(packed, live, only=keys, tree=tree)
        findings += [f for f in packing.findings if f.node in keys]
    plan.findings = [f.as_dict() for f in ordered(findings, tree)]
    plan.version += 1
    plan.validated_version = plan.version
    plan.based_on_sync = pool_selectors.scope_last_read(plan.scope)
    plan.save()
    _hold_blocks(plan, tree)
    remember(plan, packed.nodes, ids)
    return Outcome(plan, packing, findings)


def _write_nodes(
    plan: Plan, before: PlanSpec, after: PlanSpec, ids: dict[str, int], tree: Tree
) -> dict[str, int]:
    """Insert, update and delete the rows of the nodes that differ, and in them only the
    columns that differ; returns the row ids by key. New rows go in a level at a time, parents
    first, so each has its parent at insert: a few queries in all."""
    old = {n.key: n for n in before.nodes}
    wanted = {n.key: n for n in after.nodes}
    gone = [ids[key] for key in old if key not in wanted and key in ids]
    if gone:
        PlanNode.objects.filter(pk__in=gone).delete()
    ids = {k: v for k, v in ids.items() if k in wanted}
    touched = [n for k, n in wanted.items() if k not in old or old[k] != n]
    bound = {n.pool_id for n in touched if n.pool_id}
    pools = (
        dict(IpamPool.objects.filter(pool_id__in=bound).values_list("pool_id", "pk"))
        if bound
        else {}
    )
    levels: dict[int, list[NodeSpec]] = {}
    reached = set()
    for n in tree.walk():
        reached.add(n.key)
        if n.key not in ids:
            levels.setdefault(tree.depth(n.key), []).append(n)
    stray = [n for k, n in wanted.items() if k not in ids and k not in reached]  # in a cycle
    for level in [*(levels[d] for d in sorted(levels)), stray]:
        created = PlanNode.objects.bulk_create(
            PlanNode(
                plan=plan,
                parent_id=ids.get(n.parent) if n.parent else None,
                pool_id=pools.get(n.pool_id),
                **row_values(n),
            )
            for n in level
        )
        ids.update((row.key, row.pk) for row in created)
    changed: dict[str, dict] = {}
    for n in [*(n for n in touched if n.key in old), *stray]:
        values = row_values(n)
        previous = row_values(old[n.key]) if n.key in old else {}
        diff = {k: v for k, v in values.items() if previous.get(k, object()) != v}
        if n.key not in old or old[n.key].parent != n.parent:
            diff["parent_id"] = ids.get(n.parent) if n.parent else None
        if n.key in old and old[n.key].pool_id != n.pool_id:
            diff["pool_id"] = pools.get(n.pool_id)
        if diff:
            changed[n.key] = diff
    fields = sorted({name for diff in changed.values() for name in diff})
    if changed:
        rows = []
        for key, diff in changed.items():
            row = PlanNode(pk=ids[key], plan=plan)
            for name in fields:
                setattr(row, name, diff.get(name, _current(wanted[key], name, ids, pools)))
            rows.append(row)
        names = {"parent_id": "parent", "pool_id": "pool"}
        PlanNode.objects.bulk_update(rows, [names.get(f, f) for f in fields], batch_size=500)
    return ids


def _current(node: NodeSpec, name: str, ids: dict[str, int], pools: dict[str, int]) -> Any:
    """A column's value for ``node``, for a row that did not change it (bulk_update sets
    the same columns on every row)."""
    if name == "parent_id":
        return ids.get(node.parent) if node.parent else None
    if name == "pool_id":
        return pools.get(node.pool_id)
    return row_values(node)[name]


def _hold_blocks(plan: Plan, tree: Tree) -> None:
    """The plan's rows in the ledger: the outermost block of each unbound chain (none once the
    plan is archived: it gives its space back)."""
    rows = []
    nodes = () if plan.status == Plan.Status.ARCHIVED else tree.nodes.values()
    for node in nodes:
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
    held = Reservation.objects.filter(plan_id=plan.pk)
    if sorted((str(r.cidr), r.name) for r in rows) != sorted(
        (str(c), n) for c, n in held.values_list("cidr", "name")
    ):
        held.delete()
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
    empty = plan_spec(plan)
    return commit(plan, empty, empty.with_nodes(nodes), {}, touched=None)


def _change(plan: Plan, edit: Callable[[PlanSpec], tuple[PlanSpec, Any]]) -> Outcome:
    """Apply ``edit`` (spec -> (new spec, the keys it touched, or None for all)) and commit."""
    plan = _lock(plan)
    before, ids = load(plan)
    after, touched = edit(before)
    return commit(plan, before, after, ids, touched=touched)


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

    def edit(spec: PlanSpec) -> tuple[PlanSpec, list[str]]:
        node = _node(spec, key)
        old = node.cidr
        cleared = spec.with_nodes(replace(n, cidr=None) if n.key == key else n for n in spec.nodes)
        placed = pack(cleared, world(plan, cleared)).cidr_of(key)
        inner = {n.key for n in Tree.of(spec.nodes).walk(key)}
        nodes = []
        for n in cleared.nodes:
            if n.key in inner and not n.fixed and n.cidr is not None:
                if placed is not None and old is not None:
                    start = placed.first + n.cidr.first - old.first
                    n = replace(n, cidr=IPNetwork((start, n.cidr.prefixlen), version=old.version))
                else:
                    n = replace(n, cidr=None)
            elif n.key == key:
                n = replace(n, cidr=placed)
            nodes.append(n)
        return spec.with_nodes(nodes), [key, *inner]

    return _change(plan, edit)


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
    plan = _lock(plan)
    spec, ids = load(plan)
    tree = Tree.of(spec.nodes)
    if under is not None:
        _node(spec, under)
    keys = frozenset(n.key for n in (tree.walk(under) if under else tree.nodes.values()))
    return commit(plan, spec, spec, ids, touched=None, replace_keys=keys)


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
    spec, ids = load(plan)  # the nodes as they are (the plan's fields are read by spec_of)
    for name, value in changes.items():
        setattr(plan, name, [str(c) for c in value] if name == "space" else value)
    spec = spec_of(plan, spec.nodes)
    return commit(plan, spec, spec, ids, touched=None)  # saves the plan with the findings


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
