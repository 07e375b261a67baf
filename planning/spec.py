"""A plan as plain values: what the packer, the checks, the diff and the formats work on.

No Django here. :mod:`planning.selectors` builds a :class:`PlanSpec` from the database, and
:mod:`planning.services` writes back what the packer decides.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from netaddr import IPNetwork

from awsipam.constants import NETMASK_LIMITS, NO_LOCALE

SCHEMA_VERSION = 1
MAX_GROWTH_PERCENT = 1000
MAX_NEED_COUNT = 1 << 20
MAX_HOSTS = 1 << 64


class Intent:
    """What a node asks for: exactly one of a pinned CIDR, a prefix length or a need."""

    CIDR = "cidr"
    LENGTH = "length"
    NEED = "need"
    CHOICES = ((CIDR, "a pinned CIDR"), (LENGTH, "a prefix length"), (NEED, "a need"))


def new_key() -> str:
    """A node's stable id: kept through edits, exports and imports."""
    return "n-" + secrets.token_hex(6)


@dataclass(frozen=True)
class Need:
    """``count`` blocks of ``/length`` each, or ``hosts`` addresses; plus ``growth`` percent."""

    count: int = 1
    length: int | None = None
    hosts: int | None = None
    growth: int = 0

    def addresses(self, family: str) -> int:
        bits = NETMASK_LIMITS[family]
        if self.hosts is not None:
            wanted = self.hosts
        else:
            wanted = self.count * (1 << (bits - (self.length or bits)))
        return max(1, math.ceil(wanted * (100 + self.growth) / 100))

    def describe(self) -> str:
        growth = f", {self.growth}% growth" if self.growth else ""
        if self.hosts is not None:
            return f"{self.hosts} addresses{growth}"
        return f"{self.count} \N{MULTIPLICATION SIGN} /{self.length}{growth}"


def length_for(addresses: int, family: str) -> int | None:
    """The longest prefix whose block holds ``addresses`` (None: more than the family has)."""
    bits = NETMASK_LIMITS[family]
    needed = max(0, (addresses - 1).bit_length())
    return None if needed > bits else bits - needed


@dataclass(frozen=True)
class NodeSpec:
    key: str
    name: str
    parent: str | None = None
    intent: str = Intent.LENGTH
    prefix_length: int | None = None
    need: Need | None = None
    cidr: IPNetwork | None = None  # the explicit CIDR: pinned, placed by the packer, or bound
    locale: str | None = None  # None: inherit the parent's
    spare_slots: int = 0
    min_netmask: int | None = None
    max_netmask: int | None = None
    default_netmask: int | None = None
    description: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    allocation_resource_tags: tuple[tuple[str, str], ...] = ()
    pool_id: str = ""  # the AWS pool this node is bound to, once it exists

    @property
    def bound(self) -> bool:
        return bool(self.pool_id)

    @property
    def pinned(self) -> bool:
        return self.intent == Intent.CIDR

    @property
    def fixed(self) -> bool:
        """Never moved by the packer, not even to grow in place."""
        return self.bound or self.pinned

    def wanted_length(self, family: str) -> int | None:
        """The prefix length the intent asks for (None: it cannot be worked out)."""
        if self.intent == Intent.CIDR:
            return self.cidr.prefixlen if self.cidr is not None else None
        if self.intent == Intent.LENGTH:
            return self.prefix_length
        if self.need is None:
            return None
        return length_for(self.need.addresses(family), family)

    def describe_intent(self) -> str:
        if self.intent == Intent.CIDR:
            return f"pinned {self.cidr}" if self.cidr is not None else "pinned (no CIDR)"
        if self.intent == Intent.LENGTH:
            return f"/{self.prefix_length}"
        return self.need.describe() if self.need else "a need (not set)"


@dataclass(frozen=True)
class PlanSpec:
    name: str
    address_family: str
    nodes: tuple[NodeSpec, ...] = ()
    space: tuple[IPNetwork, ...] = ()  # where top-level nodes are placed (no parent pool)
    parent_pool_id: str = ""  # the live pool the top-level nodes come from, if any
    ipam_id: str = ""
    scope_id: str = ""
    description: str = ""

    def with_nodes(self, nodes: Iterable[NodeSpec]) -> PlanSpec:
        return replace(self, nodes=tuple(nodes))


@dataclass
class Tree:
    """A plan's nodes by key, with their children in a stable order."""

    nodes: dict[str, NodeSpec]
    children: dict[str | None, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, nodes: Iterable[NodeSpec]) -> Tree:
        by_key = {n.key: n for n in nodes}
        children: dict[str | None, list[str]] = {}
        for node in sorted(by_key.values(), key=lambda n: (n.name, n.key)):
            parent = node.parent if node.parent in by_key else None
            children.setdefault(parent, []).append(node.key)
        return cls(by_key, children)

    def parent_of(self, key: str) -> NodeSpec | None:
        parent = self.nodes[key].parent
        return self.nodes.get(parent) if parent else None

    def walk(self, start: str | None = None) -> Iterator[NodeSpec]:
        """Parents before their children, siblings by name (a cycle's nodes are never reached)."""
        stack = list(reversed(self.children.get(start, [])))
        while stack:
            key = stack.pop()
            yield self.nodes[key]
            stack += reversed(self.children.get(key, []))

    def depth(self, key: str) -> int:
        depth, seen, node = 1, {key}, self.nodes[key]
        while node.parent in self.nodes and node.parent not in seen:
            seen.add(node.parent)
            node = self.nodes[node.parent]
            depth += 1
        return depth

    def locale(self, key: str, root: str | None = None) -> str | None:
        """The node's locale: its own, else its nearest ancestor's, else ``root`` (the live
        pool the plan grows under); None: no locale."""
        seen: set[str] = set()
        node: NodeSpec | None = self.nodes[key]
        while node is not None and node.key not in seen:
            if node.locale is not None:
                return None if node.locale == NO_LOCALE else node.locale
            seen.add(node.key)
            node = self.nodes.get(node.parent) if node.parent else None
        return root

    def descendants(self, key: str) -> list[NodeSpec]:
        return list(self.walk(key))
