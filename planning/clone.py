"""A plan cloned from live pools: a whole scope (one address family), or a pool's subtree.

Every node is bound to its pool (``pool_id``) and holds the pool's provisioned CIDR, so the
packer never moves it and the plan starts as AWS is; new nodes are then planned under it.

A bound node is sized as a prefix length (``Intent.LENGTH``, its CIDR's length), not pinned:
binding already keeps it where it is, and "/16" says what the pool is, where "pinned" would
say someone chose to pin it. Raising its need later then warns that the pool is too small.

A node has one CIDR; a pool may have several. The clone keeps one of each such pool (the one
inside its parent's kept CIDR that holds most of its child pools, else the lowest) and lists
the others in :attr:`Clone.extra_cidrs`, which the page shows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q
from netaddr import IPNetwork

from awsipam import addressing
from awsipam.choices import LABELS, AddressFamily
from awsipam.constants import MAX_TAG_VALUE_LENGTH, NO_LOCALE
from planning.requests import NAME_TAG
from planning.spec import Intent, NodeSpec, Tree, new_key
from pools.models import IpamPool, IpamPoolCidr, IpamScope
from pools.selectors import descendants_of


@dataclass(frozen=True)
class ExtraCidrs:
    name: str
    pool_id: str
    kept: IPNetwork
    others: tuple[IPNetwork, ...]


@dataclass(frozen=True)
class Renamed:
    """A node whose name is not its pool's Name tag: the pool has none, or shares it."""

    pool_id: str
    was: str
    name: str


@dataclass(frozen=True)
class Clone:
    address_family: str
    nodes: tuple[NodeSpec, ...]
    parent_pool: IpamPool | None = None  # where the subtree's root takes its space from
    space: tuple[IPNetwork, ...] = ()
    extra_cidrs: tuple[ExtraCidrs, ...] = ()
    renamed: tuple[Renamed, ...] = ()
    without_cidr: tuple[str, ...] = field(default=())  # names of pools with no CIDR yet

    @property
    def family_label(self) -> str:
        return LABELS.get(AddressFamily(self.address_family), self.address_family)

    @property
    def pool_count(self) -> int:
        return len(self.nodes)

    def rows(self, limit: int) -> list[tuple[int, NodeSpec]]:
        """The first ``limit`` nodes with their depth in the plan, parents first."""
        tree = Tree.of(self.nodes)
        rows = []
        for node in tree.walk():
            if len(rows) >= limit:
                break
            rows.append((tree.depth(node.key), node))
        return rows


def _with_cidrs(pools):
    return pools.prefetch_related(
        Prefetch("cidrs", queryset=IpamPoolCidr.objects.with_space().exclude(cidr=""))
    )


def clone_subtree(pool: IpamPool) -> Clone:
    """The pool and every pool below it (one recursive query, one for their CIDRs); the plan
    grows under the pool's source pool, as the pool does."""
    rows = list(
        _with_cidrs(
            IpamPool.objects.filter(Q(pk=pool.pk) | Q(pk__in=descendants_of(pool))).order_by(
                "depth", "name", "pool_id"
            )
        )
    )
    parent = None
    if pool.source_pool_id is not None:
        parent = IpamPool.objects.not_deleted().filter(pk=pool.source_pool_id).first()
    return _clone(rows, roots={pool.pk}, family=pool.address_family, parent_pool=parent)


def clone_scope(scope: IpamScope, address_family: str) -> Clone:
    """Every pool of the scope in one address family that AWS still has, from the top-level
    pools down (a pool below one being deleted is left out, as the tree leaves it out)."""
    rows = list(
        _with_cidrs(
            IpamPool.objects.not_deleted()
            .filter(scope=scope, address_family=address_family)
            .order_by("depth", "name", "pool_id")
        )
    )
    roots = {p.pk for p in rows if not p.source_pool_aws_id}
    return _clone(rows, roots=roots, family=address_family, parent_pool=None)


def _clone(
    rows: list[IpamPool], *, roots: set[int], family: str, parent_pool: IpamPool | None
) -> Clone:
    children: dict[int | None, list[IpamPool]] = defaultdict(list)
    for row in rows:
        children[None if row.pk in roots else row.source_pool_id].append(row)
    order: list[IpamPool] = []  # parents first, from the roots down
    stack = list(reversed(children[None]))
    while stack:
        row = stack.pop()
        order.append(row)
        stack += reversed(children[row.pk])
    names = _names(order)
    nodes: list[NodeSpec] = []
    extra: list[ExtraCidrs] = []
    without: list[str] = []
    placed: dict[int, tuple[str, IPNetwork | None, str]] = {}  # key, kept CIDR, locale
    for row in order:
        parent_key, parent_cidr, parent_locale = placed.get(
            row.source_pool_id if row.pk not in roots else -1, (None, None, NO_LOCALE)
        )
        cidrs = _cidrs(row)
        kept = _kept_cidr(cidrs, parent_cidr, [_cidrs(k) for k in children[row.pk]])
        name = names[row.pk]
        if kept is None:
            without.append(name)
        elif len(cidrs) > 1:
            others = tuple(sorted((c for c in cidrs if c != kept), key=lambda c: c.sort_key()))
            extra.append(ExtraCidrs(name, row.pool_id, kept, others))
        locale = row.locale or NO_LOCALE
        node = NodeSpec(
            key=new_key(),
            name=name,
            parent=parent_key,
            intent=Intent.LENGTH,
            prefix_length=kept.prefixlen if kept is not None else None,
            cidr=kept,
            locale=None if locale == parent_locale else locale,
            min_netmask=row.allocation_min_netmask_length,
            max_netmask=row.allocation_max_netmask_length,
            default_netmask=row.allocation_default_netmask_length,
            description=row.description,
            tags=_pairs(row.tags, leave_out=NAME_TAG),
            allocation_resource_tags=_pairs(row.allocation_resource_tags),
            pool_id=row.pool_id,
        )
        nodes.append(node)
        placed[row.pk] = (node.key, kept, locale)
    return Clone(
        address_family=family,
        nodes=tuple(nodes),
        parent_pool=parent_pool,
        extra_cidrs=tuple(extra),
        renamed=tuple(
            Renamed(r.pool_id, r.name, names[r.pk]) for r in order if r.name != names[r.pk]
        ),
        without_cidr=tuple(without),
    )


def _pairs(tags: dict | None, leave_out: str = "") -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in (tags or {}).items() if k != leave_out))


def _cidrs(pool: IpamPool) -> list[IPNetwork]:
    return [c.cidr for c in pool.cidrs.all()]


def _kept_cidr(
    cidrs: list[IPNetwork], parent: IPNetwork | None, child_cidrs: Iterable[list[IPNetwork]]
) -> IPNetwork | None:
    """The CIDR a node keeps of its pool's: inside the parent's kept one, holding the most
    child pools, then the lowest."""
    if not cidrs:
        return None
    inner = [c for cs in child_cidrs for c in cs]

    def rank(cidr: IPNetwork) -> tuple:
        inside = parent is None or addressing.contains(parent, cidr)
        held = sum(1 for c in inner if addressing.contains(cidr, c))
        return (not inside, -held, cidr.sort_key())

    return min(cidrs, key=rank)


def _names(rows: list[IpamPool]) -> dict[int, str]:
    """Each pool's node name: its Name tag; its id when it has none; its Name tag and its id
    when other pools share that name (names are unique in a plan, not in AWS)."""
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.name:
            counts[row.name.casefold()] += 1
    names = {}
    for row in rows:
        if not row.name:
            names[row.pk] = row.pool_id
        elif counts[row.name.casefold()] > 1:
            names[row.pk] = f"{row.name} ({row.pool_id})"[-MAX_TAG_VALUE_LENGTH:]
        else:
            names[row.pk] = row.name
    return names
