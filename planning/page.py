"""The plan page's read model: the tree's rows (planned nodes, bound ones and the live pools
under them the plan does not know), each node's use and headroom, headroom per level, and the
address map of the top level or of one node.

Pure over a :class:`~planning.spec.PlanSpec`, its :class:`~planning.world.World` and the
plan's stored findings, plus one query for the names of live pools the plan does not know:
a page of a thousand nodes costs the same few queries as a page of ten.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from html import escape
from urllib.parse import quote, quote_plus

from netaddr import IPNetwork

from awsipam import addressing
from awsipam.constants import NETMASK_LIMITS, NO_LOCALE
from planning.findings import Finding
from planning.spec import Intent, NodeSpec, PlanSpec, Tree
from planning.world import World
from pools import addressmap
from pools.models import IpamPool

OPEN_DEPTH = 3  # nodes of this depth and deeper start closed: the first three levels show
EXPAND_ALL_CAP = 2000  # rows "expand all" shows at most
MAX_OPEN = 1000  # nodes a URL may open
MAX_KEY_LENGTH = 32  # PlanNode.key's length
TIMES = "\N{MULTIPLICATION SIGN}"
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")


def is_key(value: object) -> bool:
    """Whether ``value`` could be a node's key: short, printable text (never looked up in the
    database: the page reads all of a plan's nodes and finds keys among them)."""
    return isinstance(value, str) and 0 < len(value) <= MAX_KEY_LENGTH and value.isprintable()


def dom_id(key: str) -> str:
    """An HTML id (and CSS selector) safe form of a key: itself when it is plain, else a hash."""
    if _SAFE_ID.fullmatch(key):
        return key
    return "k" + hashlib.blake2s(key.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()


def open_url(keys: Iterable[str]) -> str:
    """The query string of the plan page with these nodes open."""
    ordered = sorted(set(keys))
    return f"?open={quote_plus(','.join(ordered), safe=',')}" if ordered else "?open="


def intent_label(node: NodeSpec) -> str:
    """What the node asks for, short: ``/20``, ``8 x /24 +25%`` (with a multiplication
    sign), ``500 addresses``, ``pinned``."""
    if node.intent == Intent.CIDR:
        return "pinned"
    if node.intent == Intent.LENGTH:
        return f"/{node.prefix_length}" if node.prefix_length is not None else "no size"
    need = node.need
    if need is None:
        return "no need set"
    growth = f" +{need.growth}%" if need.growth else ""
    if need.hosts is not None:
        return f"{need.hosts:,} addresses{growth}"
    return f"{need.count:,} {TIMES} /{need.length}{growth}"


def size_text(addresses: int) -> str:
    """A number of addresses as an engineer reads it: 65,536; past a few billion (IPv6), the
    power of two (2^64), approximate when it is not one."""
    if addresses < 1 << 33:
        return f"{addresses:,}"
    power = addresses.bit_length() - 1
    return f"2^{power}" if addresses == 1 << power else f"\N{ALMOST EQUAL TO}2^{power}"


@dataclass
class Headroom:
    """A block's space: what its children (and live allocations, and the ledger's blocks in
    it) use, what is free and its largest free block, and the spare slots it keeps."""

    size: int
    free: int
    largest: IPNetwork | None
    spare_wanted: int = 0
    spare_length: int | None = None
    spare_fit: int = 0

    @property
    def used(self) -> int:
        return self.size - self.free

    @property
    def used_percent(self) -> float:
        return round(100 * self.used / self.size, 1) if self.size else 0.0

    @property
    def spare_short(self) -> bool:
        return self.spare_fit < self.spare_wanted

    @property
    def free_text(self) -> str:
        return size_text(self.free)

    @property
    def size_text(self) -> str:
        return size_text(self.size)


def headroom(
    space: Iterable[IPNetwork], used: Iterable[IPNetwork], spare: tuple[int, int] | None = None
) -> Headroom:
    """The headroom of ``space`` with ``used`` taken (clipped to it): its free ranges, and
    the largest aligned block among them; ``spare`` (slots, length): how many blocks of that
    length fit in the free space, as the packer keeps them (aligned, lowest first)."""
    space = list(space)
    ranges = addressing.free_ranges(space, used)
    largest = None
    for free in ranges:
        block = free.largest_block
        if largest is None or block.prefixlen < largest.prefixlen:
            largest = block
    room = Headroom(
        size=sum(s.size for s in space), free=sum(r.size for r in ranges), largest=largest
    )
    if spare is not None and spare[0]:
        slots, length = spare
        size = 1 << (ranges[0].bits - length) if ranges else 1
        fit = sum(max(0, (r.last + 1) // size - -(-r.first // size)) for r in ranges)
        room.spare_wanted, room.spare_length, room.spare_fit = slots, length, min(fit, slots)
    return room


@dataclass
class Row:
    """A row of the tree: a node of the plan, or a live pool under a bound node."""

    key: str  # the node's key; a live pool's id
    name: str
    level: int  # the row's level in the tree (1: the top)
    kind: str  # "planned", "bound" or "live" (a live pool the plan does not know)
    cidr: IPNetwork | None = None
    node: NodeSpec | None = None
    pool_id: str = ""
    intent: str = ""
    locale: str = ""
    locale_inherited: bool = False
    depth: int = 0  # the pool depth AWS will give it
    room: Headroom | None = None
    findings: list[Finding] = field(default_factory=list)
    child_count: int = 0
    expanded: bool = False
    closes: range = range(0)  # how many groups close after this row
    toggle: str = ""  # the query string that opens or closes it

    @property
    def dom(self) -> str:
        return dom_id(self.key)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.is_error]

    @property
    def has_children(self) -> bool:
        return bool(self.child_count)

    @property
    def codes(self) -> str:
        return ", ".join(sorted({f.code for f in self.findings}))


@dataclass
class Level:
    """The headroom of one level of the tree, summed over its nodes."""

    level: int
    nodes: int = 0
    size: int = 0
    free: int = 0
    largest: IPNetwork | None = None

    @property
    def used_percent(self) -> float:
        return round(100 * (self.size - self.free) / self.size, 1) if self.size else 0.0

    @property
    def free_text(self) -> str:
        return size_text(self.free)

    @property
    def size_text(self) -> str:
        return size_text(self.size)


@dataclass
class LiveChild:
    pool_id: str
    cidr: IPNetwork
    name: str = ""


class PlanPage:
    """Everything the page draws, worked out once per request."""

    def __init__(
        self,
        spec: PlanSpec,
        world: World,
        findings: Iterable[dict | Finding],
        *,
        parent_depth: int = 0,
    ) -> None:
        self.spec, self.world = spec, world
        self.family = spec.address_family
        self.bits = NETMASK_LIMITS[self.family]
        self.tree = Tree.of(spec.nodes)
        self.parent_depth = parent_depth
        found = [f if isinstance(f, Finding) else Finding.from_dict(f) for f in findings]
        self.findings = found
        self.by_node: dict[str | None, list[Finding]] = defaultdict(list)
        for f in found:
            self.by_node[f.node if f.node in self.tree.nodes else None].append(f)
        self.bound_ids = {n.pool_id for n in spec.nodes if n.pool_id}
        self.depths = self._depths()
        self.kids = self._children()
        self.live = self._live_children()
        self._rooms: dict[str, Headroom | None] = {}

    # --- structure ----------------------------------------------------------------------

    def _depths(self) -> dict[str, int]:
        depths: dict[str, int] = {}
        for node in self.tree.walk():
            parent = node.parent if node.parent in self.tree.nodes else None
            depths[node.key] = depths[parent] + 1 if parent else 1
        return depths

    def _children(self) -> dict[str | None, list[NodeSpec]]:
        """Children of each node in address order (unplaced ones last, by name)."""
        kids: dict[str | None, list[NodeSpec]] = {}
        for parent, keys in self.tree.children.items():
            nodes = [self.tree.nodes[k] for k in keys]
            kids[parent] = sorted(nodes, key=_address_key)
        return kids

    def _live_children(self) -> dict[str, list[LiveChild]]:
        """Per bound node, the live pools taking space from its pool that no node is bound to
        (their names in one query)."""
        found: dict[str, list[LiveChild]] = {}
        for node in self.spec.nodes:
            live = self.world.pools.get(node.pool_id) if node.pool_id else None
            if live is None:
                continue
            children = [
                LiveChild(a.resource_id, a.cidr)
                for a in live.facts.allocations
                if a.resource_type == "ipam-pool" and a.resource_id not in self.bound_ids
            ]
            if children:
                found[node.key] = children
        ids = {c.pool_id for children in found.values() for c in children}
        parent = self.parent_pool
        if parent is not None:
            ids |= {a.resource_id for a in parent.facts.allocations if a.resource_id}
        else:
            ids |= {pool_id for pool_id, _ in self.world.top_level}
        ids -= {""}
        self.pool_names: dict[str, str] = {}
        if ids:
            self.pool_names = dict(
                IpamPool.objects.filter(pool_id__in=ids)
                .exclude(name="")
                .values_list("pool_id", "name")
            )
            for children in found.values():
                for child in children:
                    child.name = self.pool_names.get(child.pool_id, "")
        return found

    def depth(self, key: str) -> int:
        return self.depths.get(key, 1)

    def ancestors(self, key: str) -> list[str]:
        out, seen = [], {key}
        node = self.tree.nodes.get(key)
        while node is not None and node.parent in self.tree.nodes and node.parent not in seen:
            seen.add(node.parent)
            out.append(node.parent)
            node = self.tree.nodes[node.parent]
        return out

    def subtree(self, key: str) -> list[NodeSpec]:
        return self.tree.descendants(key)

    def child_count(self, key: str) -> int:
        return len(self.kids.get(key, ())) + len(self.live.get(key, ()))

    def default_open(self) -> set[str]:
        return {k for k, d in self.depths.items() if d < OPEN_DEPTH and self.child_count(k)}

    def all_open(self) -> set[str]:
        return {k for k in self.depths if self.child_count(k)}

    # --- space --------------------------------------------------------------------------

    @property
    def parent_pool(self):
        pool_id = self.spec.parent_pool_id
        return self.world.pools.get(pool_id) if pool_id else None

    def root_space(self) -> list[IPNetwork]:
        parent = self.parent_pool
        return list(parent.facts.space) if parent is not None else list(self.spec.space)

    def root_taken(self) -> list[tuple[IPNetwork, str, str]]:
        """What is not the plan's in its top level: (CIDR, kind, label)."""
        parent = self.parent_pool
        if parent is not None:
            return [
                (a.cidr, "pool" if a.resource_type == "ipam-pool" else "allocation", a.resource_id)
                for a in parent.facts.allocations
                if a.resource_id not in self.bound_ids
            ]
        space = self.root_space()
        return [
            (cidr, "pool", pool_id)
            for pool_id, cidr in self.world.top_level
            if pool_id not in self.bound_ids and addressing.overlapping(cidr, space)
        ]

    def taken_in(self, node: NodeSpec) -> list[tuple[IPNetwork, str, str]]:
        """What is not the plan's inside ``node``'s block: its pool's other allocations."""
        live = self.world.pools.get(node.pool_id) if node.pool_id else None
        if live is None:
            return []
        return [
            (a.cidr, "pool" if a.resource_type == "ipam-pool" else "allocation", a.resource_id)
            for a in live.facts.allocations
            if a.resource_id not in self.bound_ids
        ]

    def held_in(self, blocks: Collection[IPNetwork]) -> list[tuple[IPNetwork, str, str]]:
        return [
            (h.cidr, "reserved", h.label)
            for h in self.world.held
            if any(addressing.overlapping(h.cidr, [b]) for b in blocks)
        ]

    def room(self, key: str) -> Headroom | None:
        if key not in self._rooms:
            node = self.tree.nodes[key]
            if node.cidr is None or node.cidr.version != (4 if self.family == "ipv4" else 6):
                self._rooms[key] = None
            else:
                children = [c.cidr for c in self.kids.get(key, ()) if c.cidr is not None]
                used = children + [t[0] for t in self.taken_in(node)]
                used += [t[0] for t in self.held_in([node.cidr])]
                spare = None
                if node.spare_slots:
                    if children:
                        length = min(c.prefixlen for c in children)
                    elif node.default_netmask is not None:
                        length = node.default_netmask
                    else:
                        length = min(node.cidr.prefixlen + 1, self.bits)
                    spare = (node.spare_slots, length)
                self._rooms[key] = headroom([node.cidr], used, spare)
        return self._rooms[key]

    def root_room(self) -> Headroom | None:
        space = self.root_space()
        if not space:
            return None
        used = [c.cidr for c in self.kids.get(None, ()) if c.cidr is not None]
        used += [t[0] for t in self.root_taken()] + [t[0] for t in self.held_in(space)]
        return headroom(space, used)

    def levels(self) -> list[Level]:
        """Headroom per level: free space summed over the level's placed nodes, and the
        largest free block among them."""
        levels: dict[int, Level] = {}
        for key, depth in self.depths.items():
            room = self.room(key)
            level = levels.setdefault(depth, Level(depth))
            level.nodes += 1
            if room is None:
                continue
            level.size += room.size
            level.free += room.free
            if room.largest is not None and (
                level.largest is None or room.largest.prefixlen < level.largest.prefixlen
            ):
                level.largest = room.largest
        return [levels[d] for d in sorted(levels)]

    # --- rows ---------------------------------------------------------------------------

    def rows(
        self,
        open_keys: Collection[str],
        *,
        under: str | None = None,
        cap: int | None = None,
    ) -> list[Row]:
        """The rows shown with ``open_keys`` open: the children of ``under`` (None: the top
        level) and, below each open node, its own; at most ``cap`` rows."""
        base = self.depth(under) + 1 if under is not None else 1
        out: list[Row] = []
        stack: list[tuple[NodeSpec | LiveChild, int]] = [
            (item, base) for item in reversed(self._items(under))
        ]
        while stack and (cap is None or len(out) < cap):
            item, level = stack.pop()
            if isinstance(item, LiveChild):
                out.append(self._live_row(item, level))
                continue
            row = self._row(item, level, open_keys)
            out.append(row)
            if row.expanded:
                stack += [(child, level + 1) for child in reversed(self._items(item.key))]
        for index, row in enumerate(out):
            after = out[index + 1].level if index + 1 < len(out) else base
            if row.expanded and after == row.level + 1:
                continue
            if row.expanded:  # cut short by the cap: its group closes here, empty
                row.expanded = False
            row.closes = range(max(0, row.level - after))
        return out

    def _items(self, key: str | None) -> list[NodeSpec | LiveChild]:
        items: list[NodeSpec | LiveChild] = [*self.kids.get(key, ())]
        if key is not None:
            items += self.live.get(key, [])
        return sorted(items, key=_address_key)

    def _row(self, node: NodeSpec, level: int, open_keys: Collection[str]) -> Row:
        own = node.locale
        locale = self.tree.locale(node.key)
        count = self.child_count(node.key)
        toggle = ""
        if count:
            toggle = open_url(set(open_keys) ^ {node.key})
        return Row(
            key=node.key,
            name=node.name,
            level=level,
            kind="bound" if node.bound else "planned",
            cidr=node.cidr,
            node=node,
            pool_id=node.pool_id,
            intent=intent_label(node),
            locale="no locale" if locale in (None, NO_LOCALE) else locale,
            locale_inherited=own is None,
            depth=self.depth(node.key) + self.parent_depth,
            room=self.room(node.key),
            findings=self.by_node.get(node.key, []),
            child_count=count,
            expanded=bool(count) and node.key in open_keys,
            toggle=toggle,
        )

    def _live_row(self, child: LiveChild, level: int) -> Row:
        return Row(
            key=child.pool_id,
            name=child.name or child.pool_id,
            level=level,
            kind="live",
            cidr=child.cidr,
            pool_id=child.pool_id,
        )

    # --- the address map ----------------------------------------------------------------

    def address_map(self, key: str | None = None, *, node_href=None) -> addressmap.AddressMap:
        """The top level (or node ``key``'s block) to scale: planned nodes hatched beside
        live pools and allocations, the ledger's blocks and the free space."""
        if key is None:
            space, children = self.root_space(), self.kids.get(None, [])
            others = self.root_taken() + self.held_in(space)
        else:
            node = self.tree.nodes[key]
            space = [node.cidr] if node.cidr is not None else []
            children = self.kids.get(key, [])
            others = self.taken_in(node) + self.held_in(space)
        family_version = 4 if self.family == "ipv4" else 6
        space = [s for s in space if s.version == family_version]
        blocks = []
        for child in children:
            if child.cidr is None:
                continue
            href = node_href(child.key) if node_href else ""
            kind = "pool" if child.bound else "planned"
            blocks.append(addressmap.Block(child.cidr, kind, child.name or child.key, href))
        for cidr, kind, label in others:
            name = self.pool_names.get(label) or label or kind
            blocks.append(addressmap.Block(cidr, kind, name, ""))
        for free in addressing.free_ranges(space, [b.network for b in blocks]):
            whole = free.cidr
            label = "free" if whole is not None else f"free {free.size_label}"
            blocks.append(addressmap.Block(whole or free.span, "free", label, ""))
        return addressmap.layout(space, blocks)


def _address_key(item: NodeSpec | LiveChild) -> tuple:
    cidr = item.cidr
    name = item.name if isinstance(item, NodeSpec) else item.pool_id
    return (0, cidr.version, cidr.first, -cidr.prefixlen, name) if cidr is not None else (1, name)


# --- dry runs: an edit packed and judged, nothing saved -----------------------------------


@dataclass
class DryRun:
    """What an edit would do: the CIDR the node would get, the findings it would cause and
    resolve, and the other nodes whose CIDR would change."""

    key: str | None
    cidr: IPNetwork | None = None
    caused: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)  # the node's, after the edit
    moved: list[tuple[str, str, IPNetwork | None, IPNetwork | None]] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.caused if f.is_error]

    def name_of(self, key: str | None) -> str:
        return self.names.get(key or "", "the plan")


def dry_run(
    before: PlanSpec,
    after: PlanSpec,
    world: World,
    findings: Iterable[dict | Finding],
    *,
    key: str | None,
    touched: Iterable[str] | None,
    replace_keys: frozenset[str] = frozenset(),
) -> DryRun:
    """Pack and judge ``after`` (``before`` with an edit applied) as the services would, and
    compare with the plan's stored findings. Pure: nothing is written."""
    from planning import checks
    from planning.services import pack  # the services' own packing inputs (pure)

    packing = pack(after, world, replace_keys=replace_keys)
    packed = after.with_nodes(packing.nodes)
    tree = Tree.of(packed.nodes)
    stored = [f if isinstance(f, Finding) else Finding.from_dict(f) for f in findings]
    if touched is None:
        keys = set(tree.nodes)
    else:
        keys = checks.affected_by(tree, [*touched, *packing.moved])
    new = checks.validate(packed, world, only=keys)
    new += [f for f in packing.findings if f.node in keys]
    old = [f for f in stored if f.node is None or f.node in keys or f.node not in tree.nodes]
    old_codes = {(f.node, f.code) for f in old}
    new_codes = {(f.node, f.code) for f in new}
    was = {n.key: n.cidr for n in before.nodes}
    result = DryRun(key=key, names={n.key: n.name for n in (*before.nodes, *packed.nodes)})
    result.cidr = packing.cidr_of(key) if key is not None else None
    result.caused = _unique(f for f in new if (f.node, f.code) not in old_codes)
    result.resolved = _unique(f for f in old if (f.node, f.code) not in new_codes)
    result.remaining = _unique(f for f in new if f.node == key and key is not None)
    result.moved = [
        (n.key, n.name, was.get(n.key), n.cidr)
        for n in packed.nodes
        if n.key in was and n.key != key and was[n.key] != n.cidr
    ]
    return result


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        if (f.node, f.code, f.message) not in seen:
            seen.add((f.node, f.code, f.message))
            out.append(f)
    return sorted(out, key=lambda f: not f.is_error)


def with_node(spec: PlanSpec, node: NodeSpec) -> PlanSpec:
    """``spec`` with ``node`` added, or put in place of the node of its key."""
    nodes = [node if n.key == node.key else n for n in spec.nodes]
    if not any(n.key == node.key for n in spec.nodes):
        nodes.append(node)
    return spec.with_nodes(nodes)


def without_subtree(spec: PlanSpec, key: str) -> PlanSpec:
    tree = Tree.of(spec.nodes)
    gone = {key, *(n.key for n in tree.walk(key))}
    return spec.with_nodes(n for n in spec.nodes if n.key not in gone)


def moved(spec: PlanSpec, world: World, key: str, parent: str | None) -> PlanSpec:
    """``spec`` with ``key`` moved under ``parent`` as :func:`planning.services.node_move`
    does it: its CIDR kept where it fits, else placed anew with its unbound descendants at
    their offsets in it."""
    from dataclasses import replace

    from planning.services import pack

    node = next(n for n in spec.nodes if n.key == key)
    new_parent = next((n for n in spec.nodes if n.key == parent), None)
    shifted = replace(node, parent=parent)
    after = with_node(spec, shifted)
    fits = node.cidr is not None and (
        new_parent is None or new_parent.cidr is None or node.cidr in new_parent.cidr
    )
    if fits or node.pinned:
        return after
    cleared = with_node(after, replace(shifted, cidr=None))
    placed = pack(cleared, world).cidr_of(key)
    inner = {n.key for n in Tree.of(spec.nodes).walk(key)}
    nodes = []
    for n in cleared.nodes:
        if n.key in inner and not n.fixed and n.cidr is not None:
            if placed is not None and node.cidr is not None:
                offset = n.cidr.first - node.cidr.first
                n = replace(n, cidr=IPNetwork((placed.first + offset, n.cidr.prefixlen)))
            else:
                n = replace(n, cidr=None)
        elif n.key == key:
            n = replace(n, cidr=placed)
        nodes.append(n)
    return spec.with_nodes(nodes)


def repack_keys(spec: PlanSpec, under: str | None) -> frozenset[str]:
    """The nodes a repack under ``under`` places anew (as :func:`planning.services.plan_repack`)."""
    tree = Tree.of(spec.nodes)
    return frozenset(n.key for n in (tree.walk(under) if under else tree.nodes.values()))


# --- the rows, written out ------------------------------------------------------------------


class RowWriter:
    """The tree's rows as HTML, written here rather than by the template engine: an opened
    plan of a thousand nodes is a thousand rows of a dozen cells each, which the engine takes
    seconds over (a lookup, a localisation and an escape per value) and this a few tens of
    milliseconds. Mirrors :class:`pools.templatetags.pool_tree.TreeWriter`.

    ``urls`` holds each action's URL cut around the key (``(before, after)``); ``slots`` the
    HTML of a form open in a row (a page shown without JavaScript).
    """

    def __init__(
        self,
        *,
        urls: dict[str, tuple[str, str]],
        pool_url: tuple[str, str],
        can_change: bool,
        max_depth: int,
        slots: dict[str, str] | None = None,
    ) -> None:
        self.urls, self.pool_url = urls, pool_url
        self.can_change, self.max_depth = can_change, max_depth
        self.slots = slots or {}

    def _url(self, action: str, key: str) -> str:
        before, after = self.urls[action]
        return escape(f"{before}{quote(key, safe='')}{after}")

    def write(self, rows: Iterable[Row]) -> str:
        out: list[str] = []
        for row in rows:
            out.append(self._live(row) if row.kind == "live" else self._node(row))
            if row.expanded:
                out.append('<ul role="group">')
            else:
                out.append('<ul role="group" hidden></ul></li>')
            out.append("</ul></li>" * len(row.closes))
        return "".join(out)

    def _open(self, row: Row) -> str:
        classes = f"kind-{row.kind}" + (" has-errors" if row.errors else "")
        expanded = ""
        if row.has_children:
            expanded = f' aria-expanded="{"true" if row.expanded else "false"}"'
        toggle = '<span class="toggle-spacer"></span>'
        if row.has_children:
            toggle = (
                f'<a class="toggle" href="{escape(row.toggle)}" tabindex="-1" '
                'aria-hidden="true"></a>'
            )
        return (
            f'<li role="treeitem" aria-level="{row.level}" id="node-{escape(row.dom)}" '
            f'data-pool="{escape(row.key)}" tabindex="-1" class="{classes}"{expanded}>'
            f'<div class="row">{toggle}'
        )

    def _live(self, row: Row) -> str:
        href = escape(f"{self.pool_url[0]}{quote(row.pool_id, safe='')}{self.pool_url[1]}")
        actions = '<span class="node-actions"></span>' if self.can_change else ""
        return (
            f'{self._open(row)}<span class="label"><a class="name" href="{href}">'
            f'{escape(row.name)}</a></span> <span class="badge live">live, not in plan</span> '
            f'<code class="cidrs">{escape(str(row.cidr))}</code><span class="use"></span>'
            f'<span class="room"></span>{actions}</div>'
        )

    def _node(self, row: Row) -> str:
        key, name = row.key, escape(row.name)
        here = self.urls["here"][0]
        cells = [
            f'<span class="depth" title="Pool depth {row.depth} of {self.max_depth}">'
            f'<span class="visually-hidden">depth </span>{row.depth}'
            f"<small>/{self.max_depth}</small></span>",
            f'<span class="label"><a class="name" href="{escape(here)}?node='
            f'{escape(quote(key, safe=""))}#plan-map" title="Address map of {name}">'
            f"{name or '(no name)'}</a></span>",
        ]
        if row.kind == "bound":
            href = escape(f"{self.pool_url[0]}{quote(row.pool_id, safe='')}{self.pool_url[1]}")
            cells.append(
                f'<a class="badge bound" href="{href}" title="Bound to this pool in AWS">'
                f"{escape(row.pool_id)}</a>"
            )
        else:
            cells.append('<span class="badge planned" title="Not in AWS yet">planned</span>')
        cells.append(f'<span class="intent" title="What it asks for">{escape(row.intent)}</span>')
        inherited = ' inherited" title="Inherited from its parent' if row.locale_inherited else ""
        cells.append(f'<span class="chip{inherited}">{escape(row.locale)}</span>')
        badges = ""
        codes = escape(row.codes)
        if row.errors:
            n = len(row.errors)
            badges += (
                f'<a class="badge err" href="#findings" title="{codes}">'
                f"{n} error{'s' if n != 1 else ''}</a>"
            )
        if row.warnings:
            n = len(row.warnings)
            badges += (
                f'<a class="badge warn" href="#findings" title="{codes}">'
                f"{n} warning{'s' if n != 1 else ''}</a>"
            )
        cells.append(f'<span class="finding-badges">{badges}</span>')
        cidr = (
            escape(str(row.cidr))
            if row.cidr is not None
            else '<span class="unplaced">not placed</span>'
        )
        cells.append(f'<code class="cidrs">{cidr}</code>')
        cells += self._room(row.room)
        if self.can_change:
            cells.append(self._actions(row))
        slot = self.slots.get(key, "")
        return (
            f"{self._open(row)}{''.join(cells)}</div>"
            f'<div class="node-slot" id="slot-{escape(row.dom)}">{slot}</div>'
        )

    def _room(self, room: Headroom | None) -> list[str]:
        if room is None:
            return ['<span class="use"></span>', '<span class="room"></span>']
        percent = room.used_percent
        use = (
            f'<span class="use"><meter min="0" max="100" value="{percent}" aria-hidden="true">'
            f'</meter>{percent}%<span class="visually-hidden"> used by its children</span></span>'
        )
        parts = [f'<span title="Free addresses">{room.free_text} free</span>']
        if room.largest is not None:
            parts.append(
                f'<span title="Largest free block">largest /{room.largest.prefixlen}</span>'
            )
        if room.spare_wanted:
            short = " short" if room.spare_short else ""
            count = f"{room.spare_fit}/{room.spare_wanted}" if room.spare_short else room.spare_fit
            parts.append(
                f'<span class="spare{short}" title="Spare slots kept / wanted">spare {count} '
                f"{TIMES} /{room.spare_length}</span>"
            )
        return [use, f'<span class="room">{" · ".join(parts)}</span>']

    def _actions(self, row: Row) -> str:
        target = f"#slot-{escape(row.dom)}"
        links = [("add", "+ child", ""), ("edit", "edit", "")]
        if row.kind == "planned":
            links.append(("move", "move", ""))
        if row.child_count:
            links.append(("repack", "repack", ""))
        links.append(("delete", "delete", ' class="danger-link"'))
        out = []
        for action, label, extra in links:
            url = self._url(action, row.key)
            out.append(
                f'<a href="{url}" hx-get="{url}" hx-target="{target}" hx-swap="innerHTML"'
                f'{extra} data-action="{action}">{label}</a>'
            )
        return f'<span class="node-actions">{" ".join(out)}</span>'
