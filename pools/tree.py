"""The pool tree of a scope, built from a fixed number of flat queries.

Whatever the number of pools, a page of the tree costs the same few queries: the pools to show,
then their CIDRs, their use and their child counts in bulk, and the allocations of the pools
shown open (their free space lies between them) with the reservation ledger (what of it is
reserved). Use and free space come from the allocations (a child pool's CIDR is an allocation
in its source pool, as in AWS).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from urllib.parse import quote_plus

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce, StrIndex, Substr
from netaddr import IPNetwork

from awsipam import addressing
from awsipam.constants import NETMASK_LIMITS
from pools import ledger
from pools import search as poolsearch
from pools.models import IpamPool, IpamPoolAllocation, IpamPoolCidr, IpamScope

TREE_FIELDS = (
    "id",
    "pool_id",
    "name",
    "description",
    "depth",
    "locale",
    "address_family",
    "state",
    "source_pool_id",
    "scope_id",
    "allocation_min_netmask_length",
    "allocation_max_netmask_length",
)
EXPAND_ALL_CAP = 2000
SEARCH_CAP = 200
MAX_OPEN = 1000  # pools a URL may open (each is a query parameter)


@dataclass
class FreeBlock:
    """A free range of a pool's space, between its allocations (child pools included); or,
    of kind "reserved", a range of it the reservation ledger holds, which is never offered."""

    range: addressing.FreeRange
    parent: IpamPool
    kind: str = "free"
    holder: str = ""  # who holds a reserved range

    @property
    def addresses(self) -> int:
        return self.range.size

    @property
    def create_cidr(self) -> IPNetwork | None:
        if self.kind != "free":
            return None
        return create_here(self.parent, self.range)


@dataclass
class Node:
    pool: IpamPool
    cidrs: list[IPNetwork] = field(default_factory=list)
    used: int = 0  # addresses allocated in the pool (child pools included)
    allocations: list[IPNetwork] | None = None  # loaded only for pools shown open
    child_count: int = 0
    expanded: bool = False
    matched: bool = False
    match_note: str = ""  # how a match's CIDR meets an address or CIDR searched for
    children: list[Node | FreeBlock] = field(default_factory=list)
    kind: str = "pool"
    reserved: list[ledger.Reserved] = field(default_factory=list)  # the ledger, for open pools

    @property
    def provisioned(self) -> int:
        return sum(c.size for c in self.cidrs)

    @property
    def used_percent(self) -> float | None:
        total = self.provisioned
        if not total:
            return None
        # Allocations never overlap and lie inside the provisioned space.
        return round(100 * self.used / total, 1)

    @property
    def sort_key(self) -> tuple[int, int, str]:
        first = min(self.cidrs, key=lambda c: (c.version, c.first), default=None)
        return (0, first.first, "") if first is not None else (1, 0, self.pool.name)

    @property
    def has_children(self) -> bool:
        """Whether the pool has child pools (only those open: free space is on its map)."""
        return bool(self.child_count)

    def free_blocks(self) -> list[FreeBlock]:
        """The pool's free space as ranges between its allocations, less what the ledger
        holds, which comes as reserved ranges with its holder."""
        used = self.allocations or []
        mine = ledger.within(self.reserved, self.cidrs)
        blocks = [
            FreeBlock(free, self.pool)
            for free in addressing.free_ranges(self.cidrs, [*used, *ledger.cidrs(mine)])
        ]
        if mine:
            blocks += [
                FreeBlock(free, self.pool, "reserved", block.holder)
                for free, block in ledger.reserved_ranges(self.cidrs, used, mine)
            ]
            blocks.sort(key=lambda b: (b.range.version, b.range.first))
        return blocks


def create_here(pool: IpamPool, free: addressing.FreeRange) -> IPNetwork | None:
    """The CIDR 'create a child pool here' proposes in ``free``, a free range of ``pool``: its
    largest aligned block within the pool's allocation netmask lengths; None when ``pool``
    cannot take a child there (too deep, not ready, or the range too small)."""
    if not pool.can_take_child:
        return None
    return addressing.range_offer(
        free, pool.allocation_min_netmask_length, pool.allocation_max_netmask_length
    )


def scope_pools(scope: IpamScope) -> QuerySet[IpamPool]:
    return IpamPool.objects.live().filter(scope=scope).only(*TREE_FIELDS)


def _netmask_length() -> Cast:
    return Cast(Substr("cidr", StrIndex("cidr", Value("/")) + 1), IntegerField())


def annotate(
    pools: Iterable[IpamPool],
    open_ids: Collection[int] = (),
    selection: QuerySet[IpamPool] | None = None,
) -> list[Node]:
    """Nodes for ``pools`` with their CIDRs, use and child counts (three queries), and the
    allocations of the pools in ``open_ids`` (primary keys) with the reservation ledger of
    their IPAM (two more queries).

    ``selection``, a query of exactly those pools, is used in the queries instead of the list
    of their keys (a thousand keys cost a thousand query parameters).
    """
    nodes = [Node(pool) for pool in pools]
    by_id = {node.pool.id: node for node in nodes}
    if not by_id:
        return nodes
    ids: Collection[int] | QuerySet = list(by_id) if selection is None else selection.values("id")
    for pool_id, cidr in (
        IpamPoolCidr.objects.with_space().filter(pool_id__in=ids).values_list("pool_id", "cidr")
    ):
        by_id[pool_id].cidrs.append(cidr)
    # Use, summed in the database by netmask length: a row per pool and length, not per
    # allocation, whatever the number of allocations.
    for pool_id, length, count in (
        IpamPoolAllocation.objects.live()
        .filter(pool_id__in=ids, cidr__contains="/")
        .annotate(length=_netmask_length())
        .values("pool_id", "length")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("pool_id", "length", "n")
    ):
        node = by_id[pool_id]
        node.used += count << (NETMASK_LIMITS[node.pool.address_family] - length)
    opened = [pk for pk in open_ids if pk in by_id]
    for pk in opened:
        by_id[pk].allocations = []
    if opened:
        for pool_id, cidr in (
            IpamPoolAllocation.objects.live()
            .filter(pool_id__in=opened)
            .values_list("pool_id", "cidr")
        ):
            by_id[pool_id].allocations.append(cidr)
        reserved = ledger.held(scope_ids={by_id[pk].pool.scope_id for pk in opened})
        for pk in opened:
            by_id[pk].reserved = reserved
    for source_id, count in (
        IpamPool.objects.live()
        .filter(source_pool_id__in=ids)
        .values("source_pool_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("source_pool_id", "n")
    ):
        by_id[source_id].child_count = count
    return nodes


def _item_key(item: Node | FreeBlock) -> tuple[int, int, str]:
    return item.sort_key if isinstance(item, Node) else (0, item.range.first, "")


def arrange(parent: Node, children: list[Node]) -> None:
    """Children in address order, with the parent's free blocks between them."""
    parent.children = sorted([*children, *parent.free_blocks()], key=_item_key)
    parent.expanded = True


def build(scope: IpamScope, open_ids: Iterable[str] = ()) -> list[Node]:
    """The top-level pools, and the children of every open pool whose ancestors are open too.

    A fixed number of queries: the top-level pools, the children of every pool named in
    ``open_ids`` at once, then one :func:`annotate` over the pools shown.
    """
    open_ids = set(open_ids)
    # AWS deletes a pool's children with it, so a live pool's source pool is live too.
    tops = list(scope_pools(scope).filter(source_pool__isnull=True))
    below = []
    if open_ids:
        below = list(
            scope_pools(scope).filter(
                source_pool__pool_id__in=open_ids, source_pool__missing_since=None
            )
        )
    return _assemble([*tops, *below], {pool.id for pool in tops}, open_ids)


def build_all(scope: IpamScope, cap: int = EXPAND_ALL_CAP) -> tuple[list[Node], int]:
    """The tree opened level by level, breadth first, while the pools shown stay within ``cap``.

    A pool is shown open only with all its children; the rest stay closed (and load when
    opened). Returns the top-level nodes and the number of pools in the scope. The database
    walks the tree a level at a time (depth is at most ten): each query reads the children of
    the pools opened on the level above, each with its own number of children, so no more
    than the pools shown are ever read.
    """
    pools = scope_pools(scope)
    kids = (
        IpamPool.objects.live()
        .filter(source_pool=OuterRef("pk"))
        .order_by()
        .values("source_pool")
        .annotate(n=Count("id"))
        .values("n")
    )
    counted = pools.annotate(kids=Coalesce(Subquery(kids), 0)).order_by("depth", "pool_id")
    # A pool whose source pool is gone from the mirror shows at the top, as in :func:`build`.
    level = list(
        counted.filter(Q(source_pool__isnull=True) | Q(source_pool__missing_since__isnull=False))[
            :cap
        ]
    )
    shown, roots, opened = list(level), {pool.id for pool in level}, set()
    while level:
        opening, room = [], cap - len(shown)
        for pool in level:
            if pool.kids and pool.kids <= room:
                opening.append(pool.id)
                room -= pool.kids
        if not opening:
            break
        level = list(counted.filter(source_pool_id__in=opening))
        opened.update(opening)
        shown += level
    open_ids = {pool.pool_id for pool in shown if pool.id in opened}
    return _assemble(shown, roots, open_ids), pools.count()


def search(scope: IpamScope, query: str, cap: int = SEARCH_CAP) -> tuple[list[Node], int]:
    """Pools matching ``query`` (see :mod:`pools.search`) with their ancestors.

    Returns the top-level nodes (each ancestor open on the path to the matches, which are
    marked) and the number of matches, counted up to ``cap + 1``. A fixed number of queries
    whatever the scope's size: the matches, then the matches and their ancestors at once (a
    recursive query up the source-pool links), then :func:`annotate`'s.
    """
    found_list = poolsearch.matches(scope, query, cap + 1)
    notes = {match.pk: match.note for match in found_list[:cap]}
    found = set(notes)
    pools = list(scope_pools(scope).filter(id__in=poolsearch.with_ancestors(found)))
    present = {pool.id for pool in pools}
    with_children = {pool.source_pool_id for pool in pools}
    open_ids = {p.pool_id for p in pools if p.id in with_children}
    tops = {p.id for p in pools if p.source_pool_id not in present}
    roots = _assemble(pools, tops, open_ids, keep_free=False)
    for node in walk(roots):
        node.matched = node.pool.id in found
        node.match_note = notes.get(node.pool.id, "")
    return roots, len(found_list)


def children_of(pool: IpamPool) -> Node:
    """One pool with its children and free space: the answer to expanding a node."""
    children = IpamPool.objects.live().filter(source_pool=pool)
    selection = IpamPool.objects.filter(Q(pk=pool.pk) | Q(pk__in=children.values("pk")))
    nodes = annotate([pool, *children.only(*TREE_FIELDS)], {pool.id}, selection)
    parent = nodes[0]
    arrange(parent, nodes[1:])
    return parent


def _assemble(
    pools: list[IpamPool], roots: set[int], open_ids: set[str], keep_free: bool = True
) -> list[Node]:
    """The forest of ``pools`` from the ones in ``roots`` (primary keys), each open pool with
    its children under it. Pools under a closed pool, or under none of ``pools``, are left out."""
    kids: dict[int | None, list[IpamPool]] = defaultdict(list)
    for pool in pools:
        if pool.id not in roots:
            kids[pool.source_pool_id].append(pool)
    tops = [pool for pool in pools if pool.id in roots]
    shown, opened, level = [], set(), tops
    while level:
        shown += level
        following = []
        for pool in level:
            if pool.pool_id in open_ids:
                opened.add(pool.id)
                following += kids.get(pool.id, [])
        level = following
    nodes = annotate(shown, opened if keep_free else ())
    by_id = {node.pool.id: node for node in nodes}
    for node in nodes:
        if node.pool.id not in opened or not node.child_count:  # a leaf has no toggle
            continue
        children = [by_id[child.id] for child in kids.get(node.pool.id, [])]
        if keep_free:
            arrange(node, children)
        else:  # search results: only the paths to the matches
            node.children = sorted(children, key=lambda n: n.sort_key)
            node.expanded = True
    return sorted((by_id[pool.id] for pool in tops), key=lambda n: n.sort_key)


def walk(nodes: Iterable[Node | FreeBlock]) -> Iterable[Node]:
    for node in nodes:
        if isinstance(node, Node):
            yield node
            yield from walk(node.children)


def tree_url(open_ids: Iterable[str]) -> str:
    """The query string of a tree page with these pools open."""
    ids = sorted(set(open_ids))
    return f"?open={quote_plus(','.join(ids), safe=',')}" if ids else "?"
