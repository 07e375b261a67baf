"""Whole-plan validation: every node judged as AWS would judge its pool, plus the rules that
span nodes (containment, overlaps, the ledger, quotas, names, summarisation).

Per-pool rules come from :mod:`awsipam.rules`, the one home of AWS's rules: each unbound node
is turned into the CreateIpamPool request it stands for and checked against the facts of its
parent, planned or live. :func:`validate` can judge a part of the plan (the nodes an edit
touched); the plan-wide rules are cheap and always judged whole.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import replace

from netaddr import IPNetwork, IPSet

from awsipam import addressing, rules
from awsipam.catalog import Violation
from awsipam.constants import FAMILY_VERSION, MAX_POOL_DEPTH, NETMASK_LIMITS
from awsipam.facts import CidrFacts, PoolFacts
from planning.findings import Finding, finding
from planning.packer import IPV6_NIBBLE
from planning.requests import create_pool_request
from planning.spec import NodeSpec, PlanSpec, Tree
from planning.world import World

# Plan-wide rules: judged whole on every validation, whatever part of the plan changed.
PLAN_WIDE_CODES = frozenset(
    {"name_not_unique", "pools_per_scope_exceeded", "plan_no_space", "plan_cycle"}
)
# Where AWS names a request member, the node's field it comes from.
FIELD_OF_MEMBER = {
    "Locale": "locale",
    "Description": "description",
    "TagSpecifications": "tags",
    "AllocationResourceTags": "allocation_resource_tags",
    "AllocationMinNetmaskLength": "min_netmask",
    "AllocationMaxNetmaskLength": "max_netmask",
    "AllocationDefaultNetmaskLength": "default_netmask",
    "SourceIpamPoolId": "parent",
    "Cidr": "cidr",
    "NetmaskLength": "intent",
}


def affected_by(tree: Tree, keys: Iterable[str]) -> set[str]:
    """The nodes whose findings an edit of ``keys`` can change: themselves, their siblings
    (overlaps), their descendants (containment, locale, depth) and their parents (spares)."""
    found: set[str] = set()
    for key in keys:
        if key not in tree.nodes:
            continue
        parent = tree.nodes[key].parent if tree.nodes[key].parent in tree.nodes else None
        found.add(key)
        found.update(tree.children.get(parent, []))
        found.update(n.key for n in tree.walk(key))
        if parent is not None:
            found.add(parent)
    return found


def validate(
    plan: PlanSpec,
    world: World,
    *,
    only: Collection[str] | None = None,
    tree: Tree | None = None,
) -> list[Finding]:
    """Every finding of the plan (``only``: of those nodes, plus the plan-wide ones)."""
    tree = tree or Tree.of(plan.nodes)
    keys = set(tree.nodes) if only is None else set(only) & set(tree.nodes)
    judge = _Judge(plan, world, tree)
    found = judge.plan_wide()
    parents = {tree.nodes[k].parent if tree.nodes[k].parent in tree.nodes else None for k in keys}
    for parent in sorted(parents, key=lambda p: p or ""):
        found += judge.siblings(parent, keys)
    for key in sorted(keys):
        found += judge.node(tree.nodes[key])
    return found


class _Judge:
    def __init__(self, plan: PlanSpec, world: World, tree: Tree) -> None:
        self.plan, self.world, self.tree = plan, world, tree
        self.family = plan.address_family
        self.bits = NETMASK_LIMITS[self.family]
        self.parent_pool = world.pools.get(world.parent_pool_id or plan.parent_pool_id)
        self.root_locale = self.parent_pool.facts.locale if self.parent_pool else None
        self._depths: dict[str, int] = {}

    # --- plan-wide ----------------------------------------------------------------------

    def plan_wide(self) -> list[Finding]:
        found: list[Finding] = []
        by_name: dict[str, list[NodeSpec]] = defaultdict(list)
        for node in self.tree.nodes.values():
            by_name[node.name.casefold()].append(node)
        for same in by_name.values():
            if len(same) > 1 and same[0].name:
                found += [
                    finding(
                        n.key,
                        "name_not_unique",
                        f"{len(same)} nodes are named {n.name!r}.",
                        "Give each node its own name (it becomes the pool's Name tag).",
                        field="name",
                    )
                    for n in same
                ]
        reached = {n.key for n in self.tree.walk()}
        found += [
            finding(
                key,
                "plan_cycle",
                f"{self.tree.nodes[key].name} is its own ancestor.",
                "Move it under a node outside its own subtree.",
                field="parent",
            )
            for key in sorted(set(self.tree.nodes) - reached)
        ]
        new_pools = sum(1 for n in self.tree.nodes.values() if not n.bound)
        quota = self.world.quotas.pools_per_scope
        if new_pools and self.world.scope.pool_count + new_pools > quota:
            found.append(
                finding(
                    None,
                    "pools_per_scope_exceeded",
                    f"The scope has {self.world.scope.pool_count} pools; this plan adds "
                    f"{new_pools}, past AWS's quota of {quota} pools per scope.",
                    "Ask AWS to raise the quota (Service Quotas, 'Pools per scope') first, "
                    "or plan fewer pools.",
                )
            )
        return found

    # --- siblings -----------------------------------------------------------------------

    def siblings(self, parent: str | None, keys: set[str]) -> list[Finding]:
        """Overlaps among the children of ``parent`` that concern the nodes in ``keys``."""
        children = [self.tree.nodes[k] for k in self.tree.children.get(parent, [])]
        placed = sorted((c for c in children if c.cidr is not None), key=lambda c: c.cidr.first)
        found: list[Finding] = []
        reach: NodeSpec | None = None
        for child in placed:
            if reach is not None and child.cidr.first <= reach.cidr.last:
                for a, b in ((child, reach), (reach, child)):
                    if a.key in keys:
                        found.append(
                            finding(
                                a.key,
                                "node_overlaps_sibling",
                                f"{a.name} ({a.cidr}) overlaps its sibling {b.name} ({b.cidr}).",
                                "Move or shrink one of them; sibling pools cannot share space.",
                                field="cidr",
                            )
                        )
            if reach is None or child.cidr.last > reach.cidr.last:
                reach = child
        return found

    # --- one node -----------------------------------------------------------------------

    def node(self, node: NodeSpec) -> list[Finding]:
        found = self._intent(node)
        if not node.name.strip():
            found.append(finding(node.key, "name_missing", "This node has no name.", field="name"))
        if node.name and node.name in self.world.live_names and not node.bound:
            found.append(
                finding(
                    node.key,
                    "name_used_by_live_pool",
                    f"A live pool in this IPAM is already named {node.name!r}.",
                    "Names need not be unique in AWS, but two pools of one name confuse people.",
                    field="name",
                )
            )
        if node.bound:
            found += self._bound(node)
        found += self._geometry(node)
        if not node.bound:
            found += self._as_aws_request(node)
        return found

    def _intent(self, node: NodeSpec) -> list[Finding]:
        if node.pinned and node.cidr is None:
            return [
                finding(
                    node.key,
                    "node_intent_invalid",
                    f"{node.name} is pinned but has no CIDR.",
                    "Pin a CIDR, or size it by prefix length or need.",
                    field="cidr",
                )
            ]
        if node.cidr is not None and node.cidr.version != FAMILY_VERSION[self.family]:
            return [
                finding(
                    node.key,
                    "node_cidr_family",
                    f"{node.cidr} is not an {self.family} CIDR.",
                    f"This is an {self.family} plan.",
                    field="cidr",
                )
            ]
        wanted = node.wanted_length(self.family)
        if (
            wanted is not None
            and node.cidr is not None
            and wanted < node.cidr.prefixlen
            and node.fixed
        ):
            return [
                finding(
                    node.key,
                    "node_smaller_than_need",
                    f"{node.name} needs a /{wanted}; its CIDR {node.cidr} is a "
                    f"/{node.cidr.prefixlen}.",
                    "Its CIDR is fixed: give it a larger one, or lower the need.",
                    field="intent",
                )
            ]
        return []

    def _bound(self, node: NodeSpec) -> list[Finding]:
        live = self.world.pools.get(node.pool_id)
        if live is None:
            return [
                finding(
                    node.key,
                    "bound_pool_missing",
                    f"{node.name} is bound to {node.pool_id}, which is no longer in AWS.",
                    "Unbind it to plan the pool anew, or remove the node.",
                    field="pool_id",
                )
            ]
        parent = self.tree.parent_of(node.key)
        expected = parent.pool_id if parent is not None else self.plan.parent_pool_id
        if parent is not None and not parent.bound:
            expected = "(a planned pool)"
        if (live.facts.source_pool_id or "") != (expected or ""):
            return [
                finding(
                    node.key,
                    "bound_pool_moved",
                    f"{node.name}'s pool takes its space from "
                    f"{live.facts.source_pool_id or 'no pool'}, not from its parent in the plan.",
                    "AWS cannot move a pool: put the node back under its pool's source.",
                    field="parent",
                )
            ]
        return []

    def _geometry(self, node: NodeSpec) -> list[Finding]:
        if node.cidr is None:
            return []
        cidr, found = node.cidr, []
        parent = self.tree.parent_of(node.key)
        if parent is not None:
            if parent.cidr is not None and not addressing.contains(parent.cidr, cidr):
                found.append(
                    finding(
                        node.key,
                        "node_outside_parent",
                        f"{node.name} ({cidr}) is not inside its parent {parent.name} "
                        f"({parent.cidr}).",
                        "Move it into the parent's CIDR, or grow the parent.",
                        field="cidr",
                    )
                )
        elif self.parent_pool is not None:
            space = self.parent_pool.facts.space
            if not any(addressing.contains(s, cidr) for s in space):
                found.append(
                    finding(
                        node.key,
                        "node_outside_space",
                        f"{cidr} is not inside a provisioned CIDR of the parent pool "
                        f"{self.parent_pool.name or self.parent_pool.pool_id}.",
                        "Pick a CIDR inside the parent pool.",
                        field="cidr",
                    )
                )
        elif self.plan.space and not any(addressing.contains(s, cidr) for s in self.plan.space):
            found.append(
                finding(
                    node.key,
                    "node_outside_space",
                    f"{cidr} is outside the plan's space "
                    f"({', '.join(str(s) for s in self.plan.space)}).",
                    "Pick a CIDR inside the plan's space, or widen the space.",
                    field="cidr",
                )
            )
        if self.family == "ipv6" and cidr.prefixlen % IPV6_NIBBLE:
            found.append(
                finding(
                    node.key,
                    "ipv6_not_nibble",
                    f"/{cidr.prefixlen} is not on a nibble boundary.",
                    f"Use /{cidr.prefixlen - cidr.prefixlen % IPV6_NIBBLE} or "
                    f"/{cidr.prefixlen - cidr.prefixlen % IPV6_NIBBLE + IPV6_NIBBLE}: "
                    "IPv6 plans read best on 4-bit steps.",
                    field="intent",
                )
            )
        if not node.bound:
            if parent is None or parent.bound:
                found += self._against_live(node, parent)
            found += self._against_ledger(node)
        found += self._summarised(node)
        return found

    def _against_live(self, node: NodeSpec, parent: NodeSpec | None) -> list[Finding]:
        """A planned pool taken from a live one: clear of the live pool's allocations (the
        bound children's own excepted); at the top level, of the scope's top-level CIDRs."""
        cidr = node.cidr
        bound_ids = {n.pool_id for n in self.tree.nodes.values() if n.bound}
        if parent is None and self.parent_pool is None:
            clashes = [
                (pool_id, other)
                for pool_id, other in self.world.top_level
                if pool_id not in bound_ids and addressing.overlapping(cidr, [other])
            ]
        else:
            live = self.world.pools.get(parent.pool_id if parent else self.plan.parent_pool_id)
            if live is None:
                return []
            clashes = [
                (a.resource_id or a.allocation_id, a.cidr)
                for a in live.facts.allocations
                if a.resource_id not in bound_ids and addressing.overlapping(cidr, [a.cidr])
            ]
        return [
            finding(
                node.key,
                "node_overlaps_live",
                f"{node.name} ({cidr}) overlaps {other}, in use by {owner} in AWS.",
                "Move it to free space (the packer places unpinned nodes there).",
                field="cidr",
            )
            for owner, other in clashes[:3]
        ]

    def _against_ledger(self, node: NodeSpec) -> list[Finding]:
        """Another plan's block may not be shared at all; an external or excluded block may lie
        inside a planned pool (its children are placed around it) but not across its edge."""
        found = []
        for held in self.world.held:
            if not addressing.overlapping(node.cidr, [held.cidr]):
                continue
            if held.kind != "plan" and addressing.contains(node.cidr, held.cidr):
                continue
            code = "node_overlaps_plan" if held.kind == "plan" else "node_overlaps_reservation"
            found.append(
                finding(
                    node.key,
                    code,
                    f"{node.name} ({node.cidr}) overlaps {held.cidr}, held by {held.label}.",
                    "Move it; a block in the reservation ledger belongs to its holder.",
                    field="cidr",
                )
            )
        return found[:3]

    def _summarised(self, node: NodeSpec) -> list[Finding]:
        """A warning on a parent whose children of one Region do not make one block."""
        children = [self.tree.nodes[k] for k in self.tree.children.get(node.key, [])]
        if len(children) < 2 or self.tree.locale(node.key, self.root_locale) is not None:
            return []
        by_region: dict[str, list[IPNetwork]] = defaultdict(list)
        for child in children:
            locale = self.tree.locale(child.key, self.root_locale)
            if locale is not None and child.cidr is not None:
                by_region[locale].append(child.cidr)
        if len(by_region) < 2:
            return []
        found = []
        for region, blocks in sorted(by_region.items()):
            pieces = len(IPSet(blocks).iter_cidrs())
            if pieces > 1:
                found.append(
                    finding(
                        node.key,
                        "region_not_summarised",
                        f"The children of {node.name} in {region} make {pieces} blocks, not one:"
                        " that Region's routes cannot be summarised.",
                        f"Put {region}'s nodes under one node of their own.",
                        field=None,
                    )
                )
        return found

    def _depth(self, node: NodeSpec) -> int:
        base = self.parent_pool.facts.depth if self.parent_pool is not None else 0
        return self.tree.depth(node.key) + base

    def _as_aws_request(self, node: NodeSpec) -> list[Finding]:
        """The node's CreateIpamPool and its CIDR, judged by AWS's rules."""
        parent = self.tree.parent_of(node.key)
        source = self._source_facts(node, parent)
        request = create_pool_request(
            node,
            plan=self.plan,
            tree=self.tree,
            scope_id=self.world.scope.scope_id,
            source_pool_id=source.pool_id if source else None,
            root_locale=self.root_locale,
        )
        scope = replace(self.world.scope, pool_count=0)  # the quota is judged plan-wide
        problems: list[Violation] = rules.check_create_ipam_pool(
            request, scope=scope, source=source, quotas=self.world.quotas
        )
        depth = self._depth(node)
        if depth > MAX_POOL_DEPTH and not any(p.code == "pool_depth_exceeded" for p in problems):
            problems += rules.check_depth(depth)
        if node.cidr is not None and source is not None:
            problems += rules.check_taken_from(
                source,
                node.cidr,
                None,
                label=f"the parent {parent.name if parent else source.pool_id}",
                next_free=None,
                none_free=None,  # type: ignore[arg-type]
            )
        return [
            replace(
                finding(
                    node.key, p.code, p.message, _fix_for(p), field=FIELD_OF_MEMBER.get(p.field)
                ),
                severity="error",
            )
            for p in problems
            if p.code not in _JUDGED_ELSEWHERE
        ]

    def _source_facts(self, node: NodeSpec, parent: NodeSpec | None) -> PoolFacts | None:
        """The pool a node's pool takes its space from, as the rules see it when the plan
        applies: a live pool as it is; a planned one as it will be, usable, holding its CIDR
        (its children are judged for overlaps by the sibling rule, so it has no allocations)."""
        if parent is None:
            return self.parent_pool.facts if self.parent_pool is not None else None
        if parent.bound and parent.pool_id in self.world.pools:
            live = self.world.pools[parent.pool_id].facts
            return replace(live, allocations=())
        low = parent.min_netmask if parent.min_netmask is not None else 0
        high = parent.max_netmask if parent.max_netmask is not None else self.bits
        return PoolFacts(
            pool_id=f"({parent.name})",
            scope_id=self.world.scope.scope_id,
            scope_type=self.world.scope.scope_type,
            address_family=self.family,
            state="create-complete",
            depth=self._depth(parent),
            locale=self.tree.locale(parent.key, self.root_locale),
            min_netmask=low,
            max_netmask=high,
            default_netmask=parent.default_netmask,
            cidrs=(CidrFacts(parent.cidr, "provisioned"),) if parent.cidr is not None else (),
        )


# Judged by the plan's own rules instead (with the plan's words), or not a planning matter.
_JUDGED_ELSEWHERE = frozenset(
    {"cidr_outside_pool_space", "cidr_overlaps_allocation", "pools_per_scope_exceeded"}
)


def _fix_for(problem: Violation) -> str:
    return {
        "locale_differs_from_source": "Leave the locale to be inherited from the parent.",
        "locale_not_operating": "Pick one of the IPAM's operating Regions, or add the Region "
        "to the IPAM first.",
        "pool_depth_exceeded": "AWS allows 10 levels: flatten the tree.",
        "cidr_netmask_outside_pool_rules": "Change the node's size or its parent's allocation "
        "rules.",
    }.get(problem.code, "")
