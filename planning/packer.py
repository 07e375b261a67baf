"""The packer: gives every node of a plan an explicit CIDR, deterministically and stably.

For each parent, top down:

1. Nodes that have a CIDR keep it. A bound node (its pool exists) or a pinned one never moves;
   an unbound node whose size changed grows or shrinks in place (the block that starts at, or
   contains, its old one) when that block is free, and otherwise keeps its CIDR and is reported
   as "renumbering needed", with the options.
2. Nodes without a CIDR are placed largest first (then by name and key), each at the lowest
   aligned free block of its size inside the parent, within the parent's allocation rules.
3. The parent's spare slots (blocks the size of its largest child) are looked for in what is
   left; too few is a warning.

So adding, growing or removing a node never moves another node that has a CIDR: what is
applied is exactly what was reviewed.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from netaddr import IPNetwork

from awsipam import addressing
from awsipam.constants import FAMILY_VERSION, NETMASK_LIMITS
from planning.findings import Finding, finding
from planning.spec import NodeSpec, PlanSpec, Tree

IPV6_NIBBLE = 4


@dataclass
class Packing:
    nodes: tuple[NodeSpec, ...]
    spares: dict[str | None, list[IPNetwork]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)  # keys given a new CIDR by this packing

    def cidr_of(self, key: str) -> IPNetwork | None:
        return next((n.cidr for n in self.nodes if n.key == key), None)


class Spans:
    """A parent's space and the blocks taken in it, as integer ranges, for first-fit placement."""

    def __init__(self, space: Sequence[IPNetwork], used: Sequence[IPNetwork]) -> None:
        self.space = sorted((n.first, n.last) for n in space)
        self.used: list[tuple[int, int]] = sorted((n.first, n.last) for n in used)

    def take(self, network: IPNetwork) -> None:
        bisect.insort(self.used, (network.first, network.last))

    def give_back(self, network: IPNetwork) -> None:
        self.used.remove((network.first, network.last))

    def is_free(self, network: IPNetwork) -> bool:
        first, last = network.first, network.last
        return any(low <= first and last <= high for low, high in self.space) and not any(
            low <= last and first <= high for low, high in self.used
        )

    def first_fit(self, prefixlen: int, version: int, bits: int) -> IPNetwork | None:
        """The lowest free aligned block of ``prefixlen``, as AWS places allocations."""
        size = 1 << (bits - prefixlen)
        merged: list[tuple[int, int]] = []
        for first, last in self.used:
            if merged and first <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
            else:
                merged.append((first, last))
        for low, high in self.space:
            start = -(-low // size) * size
            index = max(0, bisect.bisect_right(merged, (start, 1 << 130)) - 1)
            while start + size - 1 <= high:
                while index < len(merged) and merged[index][1] < start:
                    index += 1
                if index < len(merged) and merged[index][0] <= start + size - 1:
                    start = -(-(merged[index][1] + 1) // size) * size
                    continue
                return IPNetwork((start, prefixlen), version=version)
        return None


def pack(
    plan: PlanSpec,
    *,
    taken: Mapping[str | None, Sequence[IPNetwork]] | None = None,
    root_space: Sequence[IPNetwork] | None = None,
    root_rules: tuple[int, int] | None = None,
    held: Sequence[IPNetwork] = (),
    replace_keys: frozenset[str] = frozenset(),
    parents: Collection[str | None] | None = None,
) -> Packing:
    """Place the plan's nodes.

    ``taken`` holds, per parent key (None: the top level), blocks that are not the plan's but
    sit in its space: live allocations, reservations, other plans. ``root_space`` is where
    top-level nodes go (the plan's space, or the parent pool's CIDRs) and ``root_rules`` the
    parent pool's allocation netmask range. ``held`` are the ledger's blocks (other plans,
    external networks, excluded ranges): no node is placed on them. ``replace_keys`` are
    unbound, unpinned nodes the user asked to place anew (a repack). ``parents`` limits the
    packing to the children of those nodes (None: the top level), for an edit that touched no
    others; top down, so a parent placed by it has its children placed too.
    """
    family = plan.address_family
    bits, version = NETMASK_LIMITS[family], FAMILY_VERSION[family]
    taken = taken or {}
    tree = Tree.of(
        replace(n, cidr=None) if n.key in replace_keys and not n.fixed else n for n in plan.nodes
    )
    nodes = dict(tree.nodes)
    result = Packing(nodes=())
    order: list[str | None] = [None, *(n.key for n in tree.walk())]
    wanted = None if parents is None else set(parents)
    for parent_key in order:
        if wanted is not None and parent_key not in wanted:
            continue
        children = [nodes[k] for k in tree.children.get(parent_key, [])]
        if not children and (parent_key is None or not nodes[parent_key].spare_slots):
            continue
        if parent_key is None:
            space = list(root_space if root_space is not None else plan.space)
            low, high = root_rules or (0, bits)
        else:
            parent = nodes[parent_key]
            space = [parent.cidr] if parent.cidr is not None else []
            low, high = _rules(parent, bits)
        blocked = list(taken.get(parent_key, ()))
        blocked += [h for h in held if any(addressing.overlapping(h, [s]) for s in space)]
        placer = _Placer(parent_key, space, blocked, low, high)
        placer.bits, placer.version, placer.family = bits, version, family
        for child in placer.place(children, tree, nodes, result):
            nodes[child.key] = child
            if wanted is not None:
                wanted.add(child.key)  # placed or resized: its children are placed in it
        if parent_key is not None:
            placer.keep_spares(nodes[parent_key], children, nodes, result)
    result.nodes = tuple(nodes[n.key] for n in plan.nodes)
    return result


def _rules(node: NodeSpec, bits: int) -> tuple[int, int]:
    low = node.min_netmask if node.min_netmask is not None else 0
    high = node.max_netmask if node.max_netmask is not None else bits
    return low, high


@dataclass
class _Placer:
    parent: str | None
    space: list[IPNetwork]
    taken: list[IPNetwork]
    low: int
    high: int
    bits: int = 32
    version: int = 4
    family: str = "ipv4"

    def place(
        self, children: list[NodeSpec], tree: Tree, nodes: dict[str, NodeSpec], result: Packing
    ) -> list[NodeSpec]:
        if not children:
            return []
        spans = Spans(self.space, self.taken + [c.cidr for c in children if c.cidr is not None])
        changed: list[NodeSpec] = []
        for child in children:
            if child.cidr is not None and not child.fixed:
                resized = self._resize(child, spans, tree, nodes, result)
                if resized is not None:
                    changed.append(resized)
        new = [c for c in children if c.cidr is None and not c.pinned]
        new.sort(key=lambda c: (_length_key(c, self.family), c.name, c.key))
        for child in new:
            placed = self._place_new(child, spans, result)
            if placed is not None:
                changed.append(placed)
        return changed

    def _resize(
        self,
        child: NodeSpec,
        spans: Spans,
        tree: Tree,
        nodes: dict[str, NodeSpec],
        result: Packing,
    ) -> NodeSpec | None:
        wanted = child.wanted_length(self.family)
        current = child.cidr
        if wanted is None or wanted == current.prefixlen or not 0 <= wanted <= self.bits:
            return None
        candidate = IPNetwork((current.first, wanted), version=self.version).cidr
        inner = [nodes[k].cidr for k in tree.children.get(child.key, []) if nodes[k].cidr]
        fits_children = all(candidate.first <= c.first and c.last <= candidate.last for c in inner)
        spans.give_back(current)
        if fits_children and self.low <= wanted <= self.high and spans.is_free(candidate):
            spans.take(candidate)
            return replace(child, cidr=candidate)
        spans.take(current)
        options = self._options(child, wanted, spans)
        result.findings.append(
            finding(
                child.key,
                "renumbering_needed",
                f"{child.name} now needs a /{wanted} but its block {current} cannot "
                f"{'grow' if wanted < current.prefixlen else 'shrink'} in place; "
                "renumbering needed.",
                options,
                field="cidr",
            )
        )
        return None

    def _options(self, child: NodeSpec, wanted: int, spans: Spans) -> str:
        elsewhere = spans.first_fit(wanted, self.version, self.bits)
        options = []
        if elsewhere is not None:
            options.append(f"move {child.name} to {elsewhere} (its CIDR changes)")
        options.append("grow the parent, or keep the size it has")
        return "Options: " + "; ".join(options) + "."

    def _place_new(self, child: NodeSpec, spans: Spans, result: Packing) -> NodeSpec | None:
        wanted = child.wanted_length(self.family)
        if wanted is None or not 0 <= wanted <= self.bits:
            result.findings.append(
                finding(
                    child.key,
                    "node_size_unknown" if wanted is None else "node_size_too_large",
                    f"{child.name}: its size cannot be worked out from {child.describe_intent()}.",
                    "Give it a prefix length, a need, or pin a CIDR.",
                    field="intent",
                )
            )
            return None
        if not spans.space:
            result.findings.append(
                finding(
                    child.key,
                    "parent_not_placed" if self.parent else "plan_no_space",
                    f"{child.name} cannot be placed: "
                    + ("its parent has no CIDR yet." if self.parent else "the plan has no space."),
                    "Place the parent first."
                    if self.parent
                    else "Give the plan a space (a CIDR such as 10.0.0.0/8) or pin a CIDR.",
                    field="cidr",
                )
            )
            return None
        if not self.low <= wanted <= self.high:
            result.findings.append(
                finding(
                    child.key,
                    "cidr_netmask_outside_pool_rules",
                    f"{child.name} needs a /{wanted}; its parent allows /{self.low} to "
                    f"/{self.high}.",
                    "Change its size or the parent's allocation rules.",
                    field="intent",
                )
            )
            return None
        block = spans.first_fit(wanted, self.version, self.bits)
        if block is None:
            result.findings.append(
                finding(
                    child.key,
                    "node_no_room",
                    f"No free /{wanted} is left for {child.name}; renumbering needed.",
                    "Options: grow the parent; make this node (or a sibling) smaller; or "
                    "repack the parent, which moves its unbound children.",
                    field="intent",
                )
            )
            return None
        spans.take(block)
        result.moved.append(child.key)
        return replace(child, cidr=block)

    def keep_spares(
        self,
        parent: NodeSpec,
        children: list[NodeSpec],
        nodes: dict[str, NodeSpec],
        result: Packing,
    ) -> None:
        if not parent.spare_slots or parent.cidr is None:
            return
        placed = [nodes[c.key].cidr for c in children if nodes[c.key].cidr is not None]
        if placed:
            size = min(c.prefixlen for c in placed)
        elif parent.default_netmask is not None:
            size = parent.default_netmask
        else:
            size = min(parent.cidr.prefixlen + 1, self.bits)
        spans = Spans([parent.cidr], self.taken + placed)
        spares = []
        for _ in range(parent.spare_slots):
            block = spans.first_fit(size, self.version, self.bits)
            if block is None:
                break
            spans.take(block)
            spares.append(block)
        result.spares[parent.key] = spares
        if len(spares) < parent.spare_slots:
            result.findings.append(
                finding(
                    parent.key,
                    "spare_slots_short",
                    f"{parent.name} keeps {len(spares)} of its {parent.spare_slots} spare "
                    f"/{size} slots.",
                    "Grow it, or ask for fewer spare slots.",
                    field="spare_slots",
                )
            )


def _length_key(node: NodeSpec, family: str) -> int:
    wanted = node.wanted_length(family)
    return wanted if wanted is not None else NETMASK_LIMITS[family] + 1


def parent_size_for(children_lengths: Sequence[int], spare_slots: int, family: str) -> int | None:
    """The longest prefix that holds blocks of these lengths (aligned) plus spare slots of the
    largest: what the wizard gives a parent that is sized from its children."""
    if not children_lengths:
        return None
    bits = NETMASK_LIMITS[family]
    largest = min(children_lengths)
    total = sum(1 << (bits - n) for n in children_lengths) + spare_slots * (1 << (bits - largest))
    needed = (total - 1).bit_length()
    return None if needed > bits else bits - needed


def nibble_length(length: int) -> int:
    """IPv6 plans step on nibble boundaries (/44, /48, /52 ...): the block on one that holds a
    /``length`` (a /50 needs a /48; a /52 would hold a quarter of it)."""
    return length - length % IPV6_NIBBLE
