"""The pool tree of a scope, built from a fixed number of flat queries.

Whatever the number of pools, a page of the tree costs the same few queries: the pools to show,
then their CIDRs, allocations and child counts in bulk. Use and free space come from the
allocations (a child pool's CIDR is an allocation in its source pool, as in AWS).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet
from netaddr import IPNetwork

from pools import addressing
from pools.models import CidrState, IpamPool, IpamPoolAllocation, IpamPoolCidr, IpamScope

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
)
EXPAND_ALL_CAP = 2000
SEARCH_CAP = 200
LIVE_CIDR_STATES = (CidrState.PROVISIONED, CidrState.PENDING_PROVISION)


@dataclass
class FreeBlock:
    cidr: IPNetwork
    parent: IpamPool
    kind: str = "free"

    @property
    def addresses(self) -> int:
        return self.cidr.size


@dataclass
class Node:
    pool: IpamPool
    cidrs: list[IPNetwork] = field(default_factory=list)
    allocations: list[IPNetwork] = field(default_factory=list)
    child_count: int = 0
    expanded: bool = False
    matched: bool = False
    children: list[Node | FreeBlock] = field(default_factory=list)
    kind: str = "pool"

    @property
    def provisioned(self) -> int:
        return sum(c.size for c in self.cidrs)

    @property
    def used_percent(self) -> float | None:
        total = self.provisioned
        if not total:
            return None
        # Allocations never overlap and lie inside the provisioned space.
        return round(100 * sum(a.size for a in self.allocations) / total, 1)

    @property
    def sort_key(self) -> tuple[int, int, str]:
        first = min((c for c in self.cidrs), key=lambda c: (c.version, c.first), default=None)
        return (0, first.first, "") if first is not None else (1, 0, self.pool.name)

    @property
    def has_children(self) -> bool:
        return bool(self.child_count) or bool(self.cidrs)

    def free_blocks(self) -> list[FreeBlock]:
        return [
            FreeBlock(b, self.pool) for b in addressing.free_blocks(self.cidrs, self.allocations)
        ]


def scope_pools(scope: IpamScope) -> QuerySet[IpamPool]:
    return IpamPool.objects.filter(scope=scope, missing_since__isnull=True).only(*TREE_FIELDS)


def annotate(pools: Iterable[IpamPool]) -> list[Node]:
    """Nodes for ``pools`` with their CIDRs, allocations and child counts: three queries."""
    nodes = [Node(pool) for pool in pools]
    by_id = {node.pool.id: node for node in nodes}
    if not by_id:
        return nodes
    ids = list(by_id)
    for pool_id, cidr in (
        IpamPoolCidr.objects.filter(
            pool_id__in=ids, state__in=LIVE_CIDR_STATES, missing_since__isnull=True
        )
        .exclude(cidr="")
        .values_list("pool_id", "cidr")
    ):
        by_id[pool_id].cidrs.append(IPNetwork(cidr))
    for pool_id, cidr in IpamPoolAllocation.objects.filter(
        pool_id__in=ids, missing_since__isnull=True
    ).values_list("pool_id", "cidr"):
        by_id[pool_id].allocations.append(IPNetwork(cidr))
    for row in (
        IpamPool.objects.filter(source_pool_id__in=ids, missing_since__isnull=True)
        .values("source_pool_id")
        .annotate(n=Count("id"))
        .order_by()
    ):
        by_id[row["source_pool_id"]].child_count = row["n"]
    return nodes


def arrange(parent: Node, children: list[Node]) -> None:
    """Children in address order, with the parent's free blocks between them."""
    items: list[Node | FreeBlock] = sorted(children, key=lambda n: n.sort_key)
    free = parent.free_blocks()
    if free:
        items = sorted(
            [*items, *free],
            key=lambda item: item.sort_key if isinstance(item, Node) else (0, item.cidr.first, ""),
        )
    parent.children = items
    parent.expanded = True


def build(scope: IpamScope, open_ids: Iterable[str] = ()) -> list[Node]:
    """The top-level pools, and the children of every open pool whose ancestors are open too.

    A fixed number of queries: roots, the children of all open pools at once, and one
    :func:`annotate` over everything shown.
    """
    open_ids = set(open_ids)
    pools = list(
        scope_pools(scope).filter(
            Q(source_pool__isnull=True) | Q(source_pool__pool_id__in=open_ids)
        )
    )
    return _assemble(pools, open_ids)


def build_all(scope: IpamScope, cap: int = EXPAND_ALL_CAP) -> tuple[list[Node], int]:
    """Every pool, expanded, breadth first up to ``cap`` pools; and the number of pools."""
    links = list(scope_pools(scope).values_list("id", "source_pool_id"))
    children: dict[int | None, list[int]] = defaultdict(list)
    for pool_id, parent_id in links:
        children[parent_id].append(pool_id)
    chosen: list[int] = []
    level = list(children[None])
    while level and len(chosen) < cap:
        level = level[: cap - len(chosen)]
        chosen.extend(level)
        level = [child for pool_id in level for child in children[pool_id]]
    pools = list(scope_pools(scope).filter(id__in=chosen))
    open_ids = {p.pool_id for p in pools}
    return _assemble(pools, open_ids), len(links)


def search(scope: IpamScope, query: str, cap: int = SEARCH_CAP) -> tuple[list[Node], int]:
    """Pools matching ``query`` (name, description, id, tag value or CIDR) with their ancestors."""
    query = query.strip()
    matches = list(
        scope_pools(scope)
        .filter(
            Q(name__icontains=query)
            | Q(description__icontains=query)
            | Q(pool_id__icontains=query)
            | Q(tag_rows__value__icontains=query)
            | Q(cidrs__cidr__startswith=query)
        )
        .values_list("id", flat=True)
        .distinct()[: cap + 1]
    )
    parents = dict(scope_pools(scope).values_list("id", "source_pool_id"))
    wanted = set(matches[:cap])
    for pool_id in matches[:cap]:
        parent = parents.get(pool_id)
        while parent is not None and parent not in wanted:
            wanted.add(parent)
            parent = parents.get(parent)
    pools = list(scope_pools(scope).filter(id__in=wanted))
    with_children = {parents.get(pool_id) for pool_id in wanted}
    open_ids = {p.pool_id for p in pools if p.id in with_children}
    roots = _assemble(pools, open_ids, keep_free=False)
    matched = set(matches[:cap])
    for node in walk(roots):
        node.matched = node.pool.id in matched
    return roots, len(matches)


def children_of(pool: IpamPool) -> Node:
    """One pool with its children and free space: the answer to expanding a node."""
    children = IpamPool.objects.filter(source_pool=pool, missing_since__isnull=True)
    nodes = annotate([pool, *children.only(*TREE_FIELDS)])
    parent = nodes[0]
    arrange(parent, nodes[1:])
    return parent


def _assemble(pools: list[IpamPool], open_ids: set[str], keep_free: bool = True) -> list[Node]:
    nodes = annotate(pools)
    by_id = {node.pool.id: node for node in nodes}
    kids: dict[int | None, list[Node]] = defaultdict(list)
    for node in nodes:
        parent = node.pool.source_pool_id if node.pool.source_pool_id in by_id else None
        kids[parent].append(node)
    for node in nodes:
        if node.pool.pool_id not in open_ids:
            continue
        if keep_free:
            arrange(node, kids.get(node.pool.id, []))
        else:  # search results: only the paths to the matches
            node.children = sorted(kids.get(node.pool.id, []), key=lambda n: n.sort_key)
            node.expanded = True
    return sorted(kids[None], key=lambda n: n.sort_key)


def walk(nodes: Iterable[Node | FreeBlock]) -> Iterable[Node]:
    for node in nodes:
        if isinstance(node, Node):
            yield node
            yield from walk(node.children)


def tree_url(open_ids: Iterable[str]) -> str:
    """The query string of a tree page with these pools open."""
    ids = sorted(set(open_ids))
    return f"?{urlencode({'open': ','.join(ids)}, safe=',')}" if ids else "?"


def ancestors(pool: IpamPool) -> list[str]:
    """The ids of a pool's ancestors, nearest last (at most nine queries: depth is capped)."""
    chain: list[str] = []
    parent_id = pool.source_pool_id
    while parent_id is not None:
        parent = IpamPool.objects.only("pool_id", "source_pool_id").get(id=parent_id)
        chain.insert(0, parent.pool_id)
        parent_id = parent.source_pool_id
    return chain
