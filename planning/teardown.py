"""The reverse of a plan: the calls that take away what applying it made.

Pure, as :mod:`planning.diff` is: a spec and the world it is judged against in, a
:class:`~planning.diff.Diff` out, shown and run like any diff (a run of kind ``teardown``).
There is no automatic rollback; this is asked for, looked at, then applied.

For each node bound to a live pool, children before parents:

- ``ReleaseIpamPoolAllocation`` of each custom allocation of its pool (done when AWS answers);
- ``DeprovisionIpamPoolCidr`` of each CIDR, once those releases are done and the node's
  children are deleted (a CIDR still holding allocations would end ``failed-deprovision``,
  C7);
- ``DeleteIpamPool`` once its CIDRs are deprovisioned (C2, C3).

With ``cascade``: only ``DeleteIpamPool`` with ``Cascade=True`` of the top-most bound nodes
(AWS removes their CIDRs, allocations and child pools). A node is blocked where AWS would
refuse or fail (allocations the plan did not make, Cascade on a public-scope pool), and so is
every node above it, whose delete would fail too (with ``cascade``: every node below it, which
its cascade was to remove).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from awsipam import rules
from awsipam.catalog import Violation
from awsipam.choices import AllocationResourceType, CidrState, PoolState
from planning.diff import BLOCKED, UNCHANGED, Change, Diff, NodeDiff, Reason, Step, Wait, diff
from planning.spec import NodeSpec, PlanSpec, Tree
from planning.world import LivePool, World

DELETE = "delete"  # the node's pool is deleted (by its own step, or by an ancestor's cascade)
KINDS = (DELETE, UNCHANGED, BLOCKED)

POOL_DELETED = str(PoolState.DELETE_COMPLETE)
CIDR_DEPROVISIONED = str(CidrState.DEPROVISIONED)
RELEASED = ""  # ReleaseIpamPoolAllocation is done when AWS answers

REASONS = {
    "child_blocked": "a node below it is blocked, so its pool would not be empty",
    "cascade_blocked": "the node above it, whose cascade was to delete it, is blocked",
    "allocations_outside_plan": "its pool holds allocations the plan did not make",
}


def _reasons(violations: list[Violation]) -> list[Reason]:
    return [Reason(v.code, f"AWS would refuse: {v.message}") for v in violations]


def reverse(spec: PlanSpec, world: World, *, cascade: bool = False) -> Diff:
    """The teardown of ``spec``'s bound nodes, children first."""
    return _Reverser(spec, world, cascade).run()


class _Reverser:
    def __init__(self, spec: PlanSpec, world: World, cascade: bool) -> None:
        self.spec, self.world, self.cascade = spec, world, cascade
        self.tree = Tree.of(spec.nodes)
        self.done: dict[str, NodeDiff] = {}

    def live(self, node: NodeSpec) -> LivePool | None:
        return self.world.pools.get(node.pool_id) if node.bound else None

    def run(self) -> Diff:
        walked = list(self.tree.walk())
        if self.cascade:
            self._cascade(walked)
        else:
            for node in reversed(walked):  # children before parents
                self.done[node.key] = self._node(node)
        nodes = tuple(self.done[n.key] for n in walked)
        order = walked if self.cascade else list(reversed(walked))
        steps = tuple(
            step for n in order if not self.done[n.key].blocked for step in self.done[n.key].steps
        )
        counts = {kind: sum(1 for n in nodes if n.kind == kind) for kind in KINDS}
        outside = diff(self.spec, self.world, ()).outside
        return Diff(nodes, steps, outside, (), counts)

    def _diff(self, node: NodeSpec, kind: str, **fields) -> NodeDiff:
        return NodeDiff(
            key=node.key,
            name=node.name,
            kind=kind,
            depth=self.tree.depth(node.key),
            pool_id=node.pool_id,
            cidr=str(node.cidr) if node.cidr is not None else "",
            **fields,
        )

    # --- one node at a time, children first ----------------------------------------------

    def _children(self, node: NodeSpec) -> list[NodeSpec]:
        return [self.tree.nodes[k] for k in self.tree.children.get(node.key, [])]

    def _node(self, node: NodeSpec) -> NodeDiff:
        live = self.live(node)
        if live is None:
            return self._diff(node, UNCHANGED)
        facts = live.facts
        reasons: list[Reason] = []
        child_deletes: list[Wait] = []
        child_pools: set[str] = set()
        for child in self._children(node):
            below = self.done[child.key]
            if below.blocked:
                reasons.append(
                    Reason("child_blocked", f"{child.name}, below it, is blocked.", child.key)
                )
            if child.bound:
                child_pools.add(child.pool_id)
            delete = next((s for s in below.steps if s.id == f"{child.key}/delete"), None)
            if delete is not None:
                child_deletes.append(Wait(delete.id, child.key, POOL_DELETED))

        steps: list[Step] = []
        releases: list[Step] = []
        foreign = []
        for allocation in facts.allocations:
            if allocation.resource_type == AllocationResourceType.CUSTOM:
                request = {
                    "IpamPoolId": facts.pool_id,
                    "IpamPoolAllocationId": allocation.allocation_id,
                    "Cidr": str(allocation.cidr),
                }
                reasons += _reasons(rules.check_release_ipam_pool_allocation(request, pool=facts))
                releases.append(
                    Step(
                        f"{node.key}/release-{len(releases) + 1}",
                        "ReleaseIpamPoolAllocation",
                        node.key,
                        request,
                        (),
                        RELEASED,
                    )
                )
            elif not (
                allocation.resource_type == AllocationResourceType.IPAM_POOL
                and allocation.resource_id in child_pools
            ):
                foreign.append(allocation)
        if foreign:
            listed = ", ".join(
                f"{a.resource_type} {a.resource_id or a.allocation_id} {a.cidr}" for a in foreign
            )
            reasons.append(
                Reason(
                    "allocations_outside_plan",
                    f"{node.name}'s pool {facts.pool_id} holds allocations the plan did not "
                    f"make ({listed}): its CIDRs would end failed-deprovision. Free them, or "
                    "tear down with Cascade.",
                )
            )
        steps += releases

        # What each call sees once the calls before it are done: the rules judge that.
        after_releases = replace(facts, allocations=tuple(foreign))
        deprovisions: list[Step] = []
        before = tuple(Wait(r.id, node.key, RELEASED) for r in releases) + tuple(child_deletes)
        for cidr in facts.live_cidrs:
            if cidr.cidr is None:
                continue
            request = {"IpamPoolId": facts.pool_id, "Cidr": str(cidr.cidr)}
            problems = rules.check_deprovision_ipam_pool_cidr(request, pool=after_releases)
            if not foreign:  # those are reported above, with what holds the CIDR
                reasons += _reasons(problems)
            deprovisions.append(
                Step(
                    f"{node.key}/deprovision-{len(deprovisions) + 1}",
                    "DeprovisionIpamPoolCidr",
                    node.key,
                    request,
                    before,
                    CIDR_DEPROVISIONED,
                )
            )
        steps += deprovisions

        request = {"IpamPoolId": facts.pool_id}
        empty = replace(facts, cidrs=(), allocations=(), child_count=0)
        reasons += _reasons(rules.check_delete_ipam_pool(request, pool=empty))
        waits = (
            tuple(Wait(d.id, node.key, CIDR_DEPROVISIONED, d.params["Cidr"]) for d in deprovisions)
            or before
        )
        steps.append(
            Step(f"{node.key}/delete", "DeleteIpamPool", node.key, request, waits, POOL_DELETED)
        )
        if reasons:
            return self._diff(node, BLOCKED, reasons=tuple(reasons))
        return self._diff(
            node, DELETE, changes=(Change("pool", facts.pool_id, ""),), steps=tuple(steps)
        )

    # --- Cascade: the top-most bound nodes only ------------------------------------------

    def _cascade(self, walked: list[NodeSpec]) -> None:
        """Parents first: a top-most bound node is deleted with Cascade, everything below it
        goes with it (or is blocked with it)."""
        by: dict[str, str] = {}  # node key -> the key of the node whose cascade deletes it
        for node in walked:
            parent = self.tree.parent_of(node.key)
            top = by.get(parent.key) if parent is not None else None
            if top is not None:
                by[node.key] = top
                above = self.done[top]
                if not node.bound:
                    self.done[node.key] = self._diff(node, UNCHANGED)
                elif above.blocked:
                    reason = Reason(
                        "cascade_blocked",
                        f"{above.name}, whose cascade was to delete it, is blocked.",
                        top,
                    )
                    self.done[node.key] = self._diff(node, BLOCKED, reasons=(reason,))
                else:
                    change = Change("pool", node.pool_id, f"(by the cascade of {above.name})")
                    self.done[node.key] = self._diff(node, DELETE, changes=(change,))
                continue
            live = self.live(node)
            if live is None:
                self.done[node.key] = self._diff(node, UNCHANGED)
                continue
            by[node.key] = node.key
            request = {"IpamPoolId": live.pool_id, "Cascade": True}
            reasons = _reasons(rules.check_delete_ipam_pool(request, pool=live.facts))
            if reasons:
                self.done[node.key] = self._diff(node, BLOCKED, reasons=tuple(reasons))
                continue
            step = Step(f"{node.key}/delete", "DeleteIpamPool", node.key, request, (), POOL_DELETED)
            change = Change("pool", live.pool_id, "(with Cascade)")
            self.done[node.key] = self._diff(node, DELETE, changes=(change,), steps=(step,))


def unbound_after(
    parents: Mapping[str, str | None], deleted: Iterable[str], *, cascade: bool
) -> set[str]:
    """The nodes a teardown leaves without a pool: those whose delete is done, and, after a
    cascade, every node below them (``parents``: node key -> its parent's key)."""
    gone = set(deleted)
    if not cascade:
        return gone
    children: dict[str | None, list[str]] = {}
    for key, parent in parents.items():
        children.setdefault(parent, []).append(key)
    stack = list(gone)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in gone:
                gone.add(child)
                stack.append(child)
    return gone
