"""Big pool trees written straight into the database, for tree tests and the tree benchmark.

Rows are consistent with what a sync of AWS would write: every pool has one provisioned CIDR
inside its parent's, and each child's CIDR is also an ``ipam-pool`` allocation in its parent.
Children sit on every other aligned block of their parent, so free space lies between them;
leaves have one custom allocation (a "VPC") over half their space.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from netaddr import IPNetwork

from pools.models import (
    CidrState,
    Ipam,
    IpamPool,
    IpamPoolAllocation,
    IpamPoolCidr,
    IpamScope,
    PoolTag,
    ScopeType,
    State,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
# Children per pool at each depth below the roots (depth 1's pools get FANOUTS[0] children...).
FANOUTS = (3, 3, 3, 3, 2, 2, 2, 2, 2)
_serial = itertools.count(1)


@dataclass
class Tree:
    scope: IpamScope
    pools: list[IpamPool]
    wide: IpamPool | None = None  # the root with ``wide`` children, when asked for
    deepest: IpamPool | None = None
    by_depth: dict[int, list[IpamPool]] = field(default_factory=dict)

    def children(self, pool: IpamPool) -> list[IpamPool]:
        return [p for p in self.pools if p.source_pool_id == pool.id]


@dataclass
class _Spec:
    parent: int | None  # index in the list of specs
    depth: int
    name: str
    cidr: IPNetwork | None = None
    kids: list[int] = field(default_factory=list)


def _shape(total: int, roots: int, wide: int, fanouts: Sequence[int]) -> list[_Spec]:
    """``total`` pools: ``roots`` top-level pools, the first with ``wide`` children (if any);
    the other roots filled breadth first with ``fanouts``, plus a chain down to depth 10."""
    specs = [_Spec(None, 1, f"root-{i}") for i in range(roots)]
    if wide:
        specs += [_Spec(0, 2, f"wide-{i:04d}") for i in range(wide)]
    chain = roots - 1  # a chain under the last root reaches depth 10 even in small trees
    while specs[chain].depth < 10 and len(specs) < total:
        specs.append(_Spec(chain, specs[chain].depth + 1, f"chain-{specs[chain].depth + 1}"))
        chain = len(specs) - 1
    level = list(range(1 if wide else 0, roots))
    serial = itertools.count()
    while level and len(specs) < total:
        following = []
        for parent in level:
            depth = specs[parent].depth
            if depth >= 10:
                continue
            for _ in range(fanouts[depth - 1]):
                if len(specs) >= total:
                    break
                specs.append(_Spec(parent, depth + 1, f"p{depth + 1}-{next(serial):05d}"))
                following.append(len(specs) - 1)
        level = following
    for index, spec in enumerate(specs):
        if spec.parent is not None:
            specs[spec.parent].kids.append(index)
    return specs


def _bits(network: IPNetwork) -> int:
    return 32 if network.version == 4 else 128


def _place(specs: list[_Spec], space: IPNetwork, roots: int) -> None:
    """Roots share ``space``; each pool's children take every other block of its CIDR."""
    bits = math.ceil(math.log2(roots)) if roots > 1 else 0
    for index, subnet in enumerate(space.subnet(space.prefixlen + bits)):
        if index >= roots:
            break
        specs[index].cidr = subnet
    for spec in specs:  # parents come before their children
        if not spec.kids:
            continue
        bits = max(1, math.ceil(math.log2(2 * len(spec.kids))))
        prefix = spec.cidr.prefixlen + bits
        if prefix > _bits(spec.cidr):
            raise ValueError(f"{spec.name}: no room for {len(spec.kids)} children in {spec.cidr}")
        size = 2 ** (_bits(spec.cidr) - prefix)
        for slot, kid in enumerate(spec.kids):
            first = spec.cidr.first + 2 * slot * size
            specs[kid].cidr = IPNetwork((first, prefix), version=spec.cidr.version)


def build_tree(
    pools: int,
    *,
    roots: int = 4,
    wide: int = 0,
    space: str = "10.0.0.0/8",
    fanouts: Sequence[int] = FANOUTS,
    label: str = "",
) -> Tree:
    """A new IPAM and private scope holding ``pools`` pools over depths 1 to 10."""
    serial = next(_serial)
    tag = f"{label or 't'}{serial}"
    network = IPNetwork(space)
    family = "ipv4" if network.version == 4 else "ipv6"
    specs = _shape(pools, roots, wide, fanouts)
    _place(specs, network, roots)

    ipam = Ipam.objects.create(
        ipam_id=f"ipam-{serial:017x}",
        arn=f"arn:aws:ec2::{ACCOUNT}:ipam/ipam-{serial:017x}",
        owner_id=ACCOUNT,
        region=REGION,
        state=State.CREATE_COMPLETE,
        operating_regions=[REGION],
        tags={"Name": f"tree {tag}"},
    )
    scope = IpamScope.objects.create(
        scope_id=f"ipam-scope-{serial:017x}",
        arn=f"arn:aws:ec2::{ACCOUNT}:ipam-scope/ipam-scope-{serial:017x}",
        ipam=ipam,
        owner_id=ACCOUNT,
        region=REGION,
        scope_type=ScopeType.PRIVATE,
        is_default=True,
        state=State.CREATE_COMPLETE,
        tags={"Name": f"tree {tag}"},
    )
    max_len = _bits(network)
    rows: list[IpamPool] = []
    for index, spec in enumerate(specs):
        pool_id = f"ipam-pool-{serial:05x}{index:012x}"
        rows.append(
            IpamPool(
                pool_id=pool_id,
                arn=f"arn:aws:ec2::{ACCOUNT}:ipam-pool/{pool_id}",
                ipam=ipam,
                scope=scope,
                owner_id=ACCOUNT,
                region=REGION,
                scope_type=ScopeType.PRIVATE,
                locale="" if spec.depth == 1 else REGION,
                depth=spec.depth,
                state=State.CREATE_COMPLETE,
                name=f"{spec.name}-{tag}",
                description=f"{spec.name} at depth {spec.depth}",
                address_family=family,
                allocation_min_netmask_length=0,
                allocation_max_netmask_length=max_len,
                tags={
                    "Name": f"{spec.name}-{tag}",
                    "team": f"team-{index % 7}",
                    "cost-center": f"cc-{index:05d}",  # one pool per value
                },
            )
        )
    for depth in range(1, 11):  # parents first, so children can point at their primary keys
        level = [(row, spec) for row, spec in zip(rows, specs, strict=True) if spec.depth == depth]
        for row, spec in level:
            if spec.parent is not None:
                row.source_pool = rows[spec.parent]
                row.source_pool_aws_id = rows[spec.parent].pool_id
        IpamPool.objects.bulk_create([row for row, _ in level], batch_size=500)
    if any(row.pk is None for row in rows):  # a backend that does not return primary keys
        ids = dict(IpamPool.objects.filter(scope=scope).values_list("pool_id", "id"))
        for row in rows:
            row.pk = ids[row.pool_id]

    cidrs, allocations, tags = [], [], []
    for row, spec in zip(rows, specs, strict=True):
        cidrs.append(
            IpamPoolCidr(
                cidr_id=f"ipam-pool-cidr-{row.pool_id[10:]}",
                pool=row,
                cidr=str(spec.cidr),
                netmask_length=spec.cidr.prefixlen,
                state=CidrState.PROVISIONED,
            )
        )
        if spec.parent is not None:
            allocations.append(
                IpamPoolAllocation(
                    allocation_id=f"ipam-pool-alloc-{row.pool_id[10:]}",
                    pool=rows[spec.parent],
                    cidr=str(spec.cidr),
                    resource_id=row.pool_id,
                    resource_type="ipam-pool",
                    resource_region=REGION,
                    resource_owner=ACCOUNT,
                )
            )
        if not spec.kids and spec.cidr.prefixlen < max_len:
            allocations.append(
                IpamPoolAllocation(
                    allocation_id=f"ipam-pool-alloc-vpc{row.pool_id[10:]}",
                    pool=row,
                    cidr=str(
                        IPNetwork((spec.cidr.first, spec.cidr.prefixlen + 1), spec.cidr.version)
                    ),
                    description=f"VPC of {spec.name}",
                    resource_id=f"vpc-{row.pool_id[10:]}",
                    resource_type="vpc",
                    resource_region=REGION,
                    resource_owner=ACCOUNT,
                )
            )
        tags += [PoolTag(pool=row, key=k, value=v) for k, v in row.tags.items()]
    IpamPoolCidr.objects.bulk_create(cidrs, batch_size=1000)
    IpamPoolAllocation.objects.bulk_create(allocations, batch_size=1000)
    PoolTag.objects.bulk_create(tags, batch_size=1000)

    tree = Tree(scope, rows)
    tree.wide = rows[0] if wide else None
    tree.deepest = max(rows, key=lambda r: r.depth)
    for row in rows:
        tree.by_depth.setdefault(row.depth, []).append(row)
    return tree
