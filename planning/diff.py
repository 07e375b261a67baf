"""The diff of a plan against AWS: what applying it would do to each node, and the AWS calls,
in order, that would do it.

Pure: a :class:`~planning.spec.PlanSpec`, the :class:`~planning.world.World` it is judged
against (:func:`planning.selectors.world`) and its findings in; plain values out, which the
plan page shows and the apply engine runs. Each node is

- ``create``: not bound to a pool: CreateIpamPool (the request of
  :func:`planning.requests.create_pool_request`), then ProvisionIpamPoolCidr of its CIDR;
- ``change``: bound to a live pool that differs from it in what AWS lets a pool change:
  ModifyIpamPool with only what differs (:data:`awsipam.rules.MODIFIABLE_POOL_MEMBERS`),
  CreateTags / DeleteTags, ProvisionIpamPoolCidr of a CIDR the pool does not have yet;
- ``unchanged``: bound, and nothing to send;
- ``blocked``: an error finding on it (or on an ancestor, which blocks everything below), or
  something AWS cannot do (a locale never changes, a pool never moves to another source, a
  provisioned CIDR never shrinks), or a call AWS's rules say it would refuse.

A step names its node, its action, boto3's parameters and the steps it waits for. A pool the
plan creates has no id until the apply has created it: parameters refer to it as
``{"ref": "<node key>"}`` (:func:`resolve` fills the ids in). No step carries a ClientToken:
the apply derives one from the plan, the node and the step's id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from netaddr import IPNetwork

from awsipam import addressing, rules
from awsipam.catalog import Violation
from awsipam.choices import ENDED_POOL_STATES, AllocationResourceType, CidrState, PoolState
from awsipam.constants import NETMASK_LIMITS, NO_LOCALE, RESERVED_TAG_PREFIX
from awsipam.facts import CidrFacts, PoolFacts
from planning.findings import Finding
from planning.requests import create_pool_request, is_owner_tag, pool_tags
from planning.spec import NodeSpec, PlanSpec, Tree
from planning.world import LivePool, World

CREATE = "create"
CHANGE = "change"
UNCHANGED = "unchanged"
BLOCKED = "blocked"
KINDS = (CREATE, CHANGE, UNCHANGED, BLOCKED)

# What a step's result is awaited as: the state AWS reaches once it has done the call.
POOL_CREATED = str(PoolState.CREATE_COMPLETE)
POOL_MODIFIED = str(PoolState.MODIFY_COMPLETE)
CIDR_PROVISIONED = str(CidrState.PROVISIONED)

# The diff's own reasons for blocking a node (besides the findings' codes and AWS's rules').
REASONS = {
    "parent_blocked": "a node above it is blocked",
    "plan_cycle": "the node is its own ancestor",
    "node_not_placed": "the node has no CIDR",
    "bound_pool_missing": "the bound pool is not in AWS",
    "bound_pool_ended": "the bound pool failed or is being deleted",
    "bound_pool_other_scope": "the bound pool is in another scope",
    "bound_pool_other_family": "the bound pool is of the other address family",
    "bound_pool_moved": "the bound pool takes its space from another pool",
    "bound_under_new_pool": "a pool cannot move under a pool the plan creates",
    "locale_cannot_change": "ModifyIpamPool has no Locale",
    "cidr_narrower_than_live": "a provisioned CIDR cannot shrink",
    "cidr_overlaps_live_cidr": "a provisioned CIDR cannot grow or move",
}


@dataclass(frozen=True)
class Wait:
    """What a step waits for: the step ``step`` done, and ``node``'s pool (or its CIDR
    ``cidr``) in ``state`` in AWS."""

    step: str
    node: str
    state: str
    cidr: str = ""


@dataclass(frozen=True)
class Step:
    """One AWS call. ``id`` is stable for the plan (``<node key>/<what>``); ``params`` are
    boto3's, with ``{"ref": key}`` for the id of a pool the plan creates; ``settles`` is the
    state AWS reaches once the call is done, which the steps that wait for it wait for
    (empty: done when AWS answers)."""

    id: str
    action: str
    node: str
    params: dict[str, Any]
    waits_for: tuple[Wait, ...] = ()
    settles: str = ""

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class Reason:
    """Why a node is blocked: a finding's code, a rule's code or one of :data:`REASONS`."""

    code: str
    message: str
    node: str | None = None  # the node it concerns, if another one (an ancestor)


@dataclass(frozen=True)
class Change:
    """One thing that differs between the plan and the live pool (text, for people)."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class NodeDiff:
    key: str
    name: str
    kind: str
    depth: int
    pool_id: str = ""
    cidr: str = ""
    changes: tuple[Change, ...] = ()
    reasons: tuple[Reason, ...] = ()
    steps: tuple[Step, ...] = ()

    @property
    def blocked(self) -> bool:
        return self.kind == BLOCKED


@dataclass(frozen=True)
class Outside:
    """A live pool inside the plan's space that the plan does not know: left alone."""

    pool_id: str
    cidr: IPNetwork
    source_pool_id: str = ""  # the pool it takes its space from ("" at the top level)
    under: str | None = None  # the key of the node bound to that pool, if one


@dataclass(frozen=True)
class Diff:
    nodes: tuple[NodeDiff, ...]  # parents before children, siblings in the plan's order
    steps: tuple[Step, ...]  # the calls of the nodes that are not blocked, in that order
    outside: tuple[Outside, ...] = ()
    plan_reasons: tuple[Reason, ...] = ()  # the plan's own errors: nothing may be applied
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def applicable(self) -> bool:
        """Whether the whole plan can be applied: nothing blocked, and something to do."""
        return bool(self.steps) and not self.plan_reasons and not self.counts.get(BLOCKED)

    def node(self, key: str) -> NodeDiff:
        for node in self.nodes:
            if node.key == key:
                return node
        raise KeyError(key)

    def as_dict(self) -> dict[str, Any]:
        """The diff as JSON takes it (lists, strings, numbers)."""
        return _plain(asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, IPNetwork):
        return str(value)
    return value


def ref(key: str) -> dict[str, str]:
    """A reference to the pool of node ``key``, which the apply creates."""
    return {"ref": key}


def is_ref(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"ref"}


def resolve(params: Mapping[str, Any], pool_ids: Mapping[str, str]) -> dict[str, Any]:
    """``params`` with each reference replaced by the id of the pool created for its node
    (``KeyError`` for a node whose pool does not exist yet)."""

    def fill(value: Any) -> Any:
        if is_ref(value):
            return pool_ids[value["ref"]]
        if isinstance(value, Mapping):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [fill(v) for v in value]
        return value

    return {k: fill(v) for k, v in params.items()}


def diff(spec: PlanSpec, world: World, findings: Iterable[Finding | Mapping[str, Any]]) -> Diff:
    """What applying ``spec`` would do to each node, and the calls that would do it."""
    return _Differ(spec, world, findings).run()


def _locale(value: str | None) -> str | None:
    return None if value in (None, "", NO_LOCALE) else value


def _label(value: Any) -> str:
    return "—" if value in (None, "", ()) else str(value)


def _tag_text(tags: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items())) or "—"


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _reasons(violations: Iterable[Violation]) -> list[Reason]:
    return [Reason(v.code, f"AWS would refuse: {v.message}") for v in violations]


# A node's kind, what differs, its steps and why it is blocked (if it is).
_Verdict = tuple[str, list[Change], list[Step], list[Reason]]


class _Differ:
    def __init__(
        self, spec: PlanSpec, world: World, findings: Iterable[Finding | Mapping[str, Any]]
    ) -> None:
        self.spec, self.world = spec, world
        self.tree = Tree.of(spec.nodes)
        self.family = spec.address_family
        self.scope_id = world.scope.scope_id or spec.scope_id
        self.parent_pool_id = spec.parent_pool_id or world.parent_pool_id
        root = world.pools.get(self.parent_pool_id)
        self.root_locale = root.facts.locale if root is not None else None
        self.bound_ids = {n.pool_id for n in spec.nodes if n.bound}
        self.errors: dict[str, list[Finding]] = {}
        self.plan_reasons: list[Reason] = []
        for item in findings:
            found = item if isinstance(item, Finding) else Finding.from_dict(dict(item))
            if not found.is_error:
                continue
            if found.node is None:
                self.plan_reasons.append(Reason(found.code, found.message))
            elif found.node in self.tree.nodes:
                self.errors.setdefault(found.node, []).append(found)
        self.done: dict[str, NodeDiff] = {}

    def run(self) -> Diff:
        walked = list(self.tree.walk())
        reached = {n.key for n in walked}
        cycle = sorted(
            (n for n in self.tree.nodes.values() if n.key not in reached),
            key=lambda n: (n.name, n.key),
        )
        for node in walked:
            self.done[node.key] = self._node(node)
        for node in cycle:
            self.done[node.key] = self._node(node, in_cycle=True)
        nodes = tuple(self.done[n.key] for n in [*walked, *cycle])
        steps = tuple(step for n in nodes if not n.blocked for step in n.steps)
        counts = {kind: sum(1 for n in nodes if n.kind == kind) for kind in KINDS}
        return Diff(nodes, steps, self._outside(), tuple(self.plan_reasons), counts)

    # --- one node -----------------------------------------------------------------------

    def _node(self, node: NodeSpec, *, in_cycle: bool = False) -> NodeDiff:
        parent = None if in_cycle else self.tree.parent_of(node.key)
        reasons = [Reason(f.code, f.message) for f in self.errors.get(node.key, [])]
        if in_cycle and not any(r.code == "plan_cycle" for r in reasons):
            reasons.append(Reason("plan_cycle", f"{node.name} is its own ancestor."))
        above = self.done.get(parent.key) if parent is not None else None
        if above is not None and above.blocked:
            reasons.append(
                Reason("parent_blocked", f"{parent.name}, above it, is blocked.", parent.key)
            )
        if node.bound:
            kind, changes, steps, more = self._bound(node, parent)
        else:
            kind, changes, steps, more = self._create(node, parent)
        reasons += [r for r in more if r.code not in {x.code for x in reasons}]
        if reasons:
            kind, steps = BLOCKED, []
        return NodeDiff(
            key=node.key,
            name=node.name,
            kind=kind,
            depth=self.tree.depth(node.key),
            pool_id=node.pool_id,
            cidr=str(node.cidr) if node.cidr is not None else "",
            changes=tuple(changes),
            reasons=tuple(reasons),
            steps=tuple(steps),
        )

    def _step(self, node: NodeSpec, what: str) -> Step | None:
        done = self.done.get(node.key)
        if done is None or done.blocked:
            return None
        return next((s for s in done.steps if s.id == f"{node.key}/{what}"), None)

    def _under(self, node: NodeSpec, parent: NodeSpec | None) -> list[Wait]:
        """What taking ``node``'s CIDR from ``parent`` waits for: the parent's pool created,
        its CIDR holding ``node`` provisioned, its new allocation rules in place."""
        if parent is None:
            return []
        waits = []
        created = self._step(parent, "create")
        if created is not None:
            waits.append(Wait(created.id, parent.key, POOL_CREATED))
        provisioned = self._step(parent, "provision")
        if provisioned is not None and (
            node.cidr is None
            or addressing.contains(IPNetwork(provisioned.params["Cidr"]), node.cidr)
        ):
            waits.append(
                Wait(provisioned.id, parent.key, CIDR_PROVISIONED, provisioned.params["Cidr"])
            )
        modified = self._step(parent, "modify")
        if modified is not None:
            waits.append(Wait(modified.id, parent.key, POOL_MODIFIED))
        return waits

    def _create(self, node: NodeSpec, parent: NodeSpec | None) -> _Verdict:
        """CreateIpamPool, then ProvisionIpamPoolCidr. The child of a pool the plan creates
        or grows is created once the parent holds its space: AWS would take it earlier (rule
        17), but a parent whose CIDR fails then leaves no empty children behind."""
        reasons: list[Reason] = []
        if node.cidr is None:
            reasons.append(Reason("node_not_placed", f"{node.name} has no CIDR yet."))
        request = create_pool_request(
            node,
            plan=self.spec,
            tree=self.tree,
            scope_id=self.scope_id,
            source_pool_id=None,
            root_locale=self.root_locale,
        )
        if parent is not None:
            source: Any = parent.pool_id if parent.bound else ref(parent.key)
        else:
            source = self.parent_pool_id or None
        if source:
            request = {
                "IpamScopeId": request.pop("IpamScopeId"),
                "SourceIpamPoolId": source,
                **request,
            }
        create = Step(
            f"{node.key}/create",
            "CreateIpamPool",
            node.key,
            request,
            tuple(self._under(node, parent)),
            POOL_CREATED,
        )
        steps = [create]
        if node.cidr is not None:
            steps.append(
                Step(
                    f"{node.key}/provision",
                    "ProvisionIpamPoolCidr",
                    node.key,
                    {"IpamPoolId": ref(node.key), "Cidr": str(node.cidr)},
                    (Wait(create.id, node.key, POOL_CREATED),),
                    CIDR_PROVISIONED,
                )
            )
        changes = [Change("pool", "", node.name)]
        if node.cidr is not None:
            changes.append(Change("cidr", "", str(node.cidr)))
        return CREATE, changes, steps, reasons

    def _bound(self, node: NodeSpec, parent: NodeSpec | None) -> _Verdict:
        live = self.world.pools.get(node.pool_id)
        if live is None:
            reason = Reason(
                "bound_pool_missing", f"{node.name} is bound to {node.pool_id}, not in AWS."
            )
            return BLOCKED, [], [], [reason]
        facts = live.facts
        reasons = self._fixed(node, parent, live)
        changes: list[Change] = []
        steps: list[Step] = []
        pool_id = live.pool_id

        modify = self._modify(node, live, changes)
        if modify:
            request = {"IpamPoolId": pool_id, **modify}
            reasons += _reasons(rules.check_modify_ipam_pool(request, pool=facts))
            steps.append(
                Step(f"{node.key}/modify", "ModifyIpamPool", node.key, request, (), POOL_MODIFIED)
            )

        before = {k: v for k, v in live.tags if not is_owner_tag(k)}
        after = {k: v for k, v in pool_tags(node) if not is_owner_tag(k)}
        added = {k: v for k, v in after.items() if before.get(k) != v}
        removed = [
            k for k in before if k not in after and not k.lower().startswith(RESERVED_TAG_PREFIX)
        ]
        if added or removed:
            changes.append(Change("tags", _tag_text(before), _tag_text(after)))
        if added:
            request = {"Resources": [pool_id], "Tags": _tag_list(added)}
            reasons += _reasons(rules.check_create_tags(request, current={pool_id: before}))
            steps.append(Step(f"{node.key}/tag", "CreateTags", node.key, request))
        if removed:
            request = {"Resources": [pool_id], "Tags": [{"Key": k} for k in removed]}
            reasons += _reasons(rules.check_delete_tags(request))
            steps.append(Step(f"{node.key}/untag", "DeleteTags", node.key, request))

        provision, why = self._provision(node, parent, facts)
        reasons += why
        if provision is not None:
            changes.append(
                Change(
                    "cidr",
                    ", ".join(str(c.cidr) for c in facts.live_cidrs if c.cidr) or "—",
                    f"+ {node.cidr}",
                )
            )
            steps.append(provision)
        return (CHANGE if steps else UNCHANGED), changes, steps, reasons

    def _fixed(self, node: NodeSpec, parent: NodeSpec | None, live: LivePool) -> list[Reason]:
        """What a bound node asks of its pool that AWS cannot change at all."""
        facts, reasons = live.facts, []
        if facts.state in ENDED_POOL_STATES:
            reasons.append(
                Reason("bound_pool_ended", f"{node.name}'s pool {live.pool_id} is {facts.state}.")
            )
        if facts.scope_id != self.scope_id:
            reasons.append(
                Reason(
                    "bound_pool_other_scope",
                    f"{node.name}'s pool {live.pool_id} is in {facts.scope_id}, not in the "
                    f"plan's scope.",
                )
            )
        if facts.address_family != self.family:
            reasons.append(
                Reason(
                    "bound_pool_other_family",
                    f"{node.name}'s pool {live.pool_id} is {facts.address_family}; this is an "
                    f"{self.family} plan.",
                )
            )
        if parent is not None and not parent.bound:
            reasons.append(
                Reason(
                    "bound_under_new_pool",
                    f"{node.name}'s pool exists; AWS cannot move it under {parent.name}, a "
                    "pool the plan creates.",
                )
            )
        else:
            expected = parent.pool_id if parent is not None else self.parent_pool_id
            if (facts.source_pool_id or "") != (expected or ""):
                reasons.append(
                    Reason(
                        "bound_pool_moved",
                        f"{node.name}'s pool takes its space from "
                        f"{facts.source_pool_id or 'no pool'}, not from "
                        f"{expected or 'no pool'}; AWS cannot move a pool.",
                    )
                )
        planned, current = _locale(self.tree.locale(node.key)), _locale(facts.locale)
        if planned != current:
            reasons.append(
                Reason(
                    "locale_cannot_change",
                    f"{node.name}'s locale would change from {current or 'no locale'} to "
                    f"{planned or 'no locale'}; AWS never changes a pool's locale.",
                )
            )
        return reasons

    def _modify(self, node: NodeSpec, live: LivePool, changes: list[Change]) -> dict[str, Any]:
        """The ModifyIpamPool members whose value the plan changes (as the pool edit form
        builds them: an unset minimum is 0, an unset maximum the family's limit)."""
        facts, out = live.facts, {}
        if node.description != live.description:
            out["Description"] = node.description
            changes.append(
                Change("description", _label(live.description), _label(node.description))
            )
        low, high = facts.netmask_range
        planned_low = node.min_netmask if node.min_netmask is not None else 0
        limit = NETMASK_LIMITS[self.family]
        planned_high = node.max_netmask if node.max_netmask is not None else limit
        if planned_low != low:
            out["AllocationMinNetmaskLength"] = planned_low
            changes.append(Change("min_netmask", f"/{low}", f"/{planned_low}"))
        if planned_high != high:
            out["AllocationMaxNetmaskLength"] = planned_high
            changes.append(Change("max_netmask", f"/{high}", f"/{planned_high}"))
        if node.default_netmask != facts.default_netmask:
            if node.default_netmask is None:
                out["ClearAllocationDefaultNetmaskLength"] = True
            else:
                out["AllocationDefaultNetmaskLength"] = node.default_netmask
            changes.append(
                Change(
                    "default_netmask",
                    _label(facts.default_netmask and f"/{facts.default_netmask}"),
                    _label(node.default_netmask and f"/{node.default_netmask}"),
                )
            )
        before, after = dict(live.allocation_resource_tags), dict(node.allocation_resource_tags)
        removed = {k: v for k, v in before.items() if after.get(k) != v}
        added = {k: v for k, v in after.items() if before.get(k) != v}
        if removed:
            out["RemoveAllocationResourceTags"] = _tag_list(removed)
        if added:
            out["AddAllocationResourceTags"] = _tag_list(added)
        if removed or added:
            changes.append(Change("allocation_resource_tags", _tag_text(before), _tag_text(after)))
        return out

    def _provision(
        self, node: NodeSpec, parent: NodeSpec | None, facts: PoolFacts
    ) -> tuple[Step | None, list[Reason]]:
        """ProvisionIpamPoolCidr of the plan's CIDR when the pool has not got it: only beside
        its CIDRs, never over one (AWS neither shrinks nor grows a CIDR in place)."""
        cidr = node.cidr
        if cidr is None:
            return None, []
        live = [c.cidr for c in facts.live_cidrs if c.cidr is not None]
        if cidr in live:
            return None, []
        wider = [c for c in live if addressing.contains(c, cidr)]
        if wider:
            return None, [
                Reason(
                    "cidr_narrower_than_live",
                    f"{node.name}'s CIDR {cidr} is narrower than its pool's {wider[0]}; AWS "
                    "cannot shrink a provisioned CIDR.",
                )
            ]
        clashes = addressing.overlapping(cidr, live)
        if clashes:
            return None, [
                Reason(
                    "cidr_overlaps_live_cidr",
                    f"{node.name}'s CIDR {cidr} overlaps its pool's {clashes[0]}; AWS cannot "
                    "grow or move a provisioned CIDR (plan one beside it).",
                )
            ]
        request = {"IpamPoolId": facts.pool_id, "Cidr": str(cidr)}
        source = self._source_facts(parent)
        scope = replace(self.world.scope, top_level_cidrs=tuple(self.world.top_level))
        problems = rules.check_provision_ipam_pool_cidr(
            request, pool=facts, source=source, scope=scope, quotas=self.world.quotas
        )
        step = Step(
            f"{node.key}/provision",
            "ProvisionIpamPoolCidr",
            node.key,
            request,
            tuple(self._under(node, parent)),
            CIDR_PROVISIONED,
        )
        return step, _reasons(problems)

    def _source_facts(self, parent: NodeSpec | None) -> PoolFacts | None:
        """The live pool a bound node's new CIDR is taken from, with the CIDR the plan adds
        to it, if it adds one, as if provisioned."""
        if parent is None:
            pool = self.world.pools.get(self.parent_pool_id) if self.parent_pool_id else None
            return pool.facts if pool is not None else None
        pool = self.world.pools.get(parent.pool_id)
        if pool is None:
            return None
        facts = pool.facts
        if self._step(parent, "provision") is not None and parent.cidr is not None:
            facts = replace(facts, cidrs=(*facts.cidrs, CidrFacts(parent.cidr, CIDR_PROVISIONED)))
        return facts

    # --- the rest of the space ----------------------------------------------------------

    def _outside(self) -> tuple[Outside, ...]:
        """Live pools in the plan's space that the plan does not know: the other child pools
        of its bound pools (and of the pool it grows under); at the top level, the scope's
        top-level pools inside the plan's space."""
        found: dict[tuple[str, str], Outside] = {}
        holders = [(n.pool_id, n.key) for n in self.tree.walk() if n.bound]
        if self.parent_pool_id:
            holders.insert(0, (self.parent_pool_id, None))
        for pool_id, key in holders:
            live = self.world.pools.get(pool_id)
            if live is None:
                continue
            for allocation in live.facts.allocations:
                child = allocation.resource_id
                if (
                    allocation.resource_type == AllocationResourceType.IPAM_POOL
                    and child
                    and child not in self.bound_ids
                ):
                    found.setdefault(
                        (child, str(allocation.cidr)),
                        Outside(child, allocation.cidr, pool_id, key),
                    )
        if not self.parent_pool_id and self.spec.space:
            for pool_id, cidr in self.world.top_level:
                if pool_id not in self.bound_ids and addressing.overlapping(cidr, self.spec.space):
                    found.setdefault((pool_id, str(cidr)), Outside(pool_id, cidr))
        return tuple(
            sorted(found.values(), key=lambda o: (o.cidr.version, o.cidr.first, o.pool_id))
        )
