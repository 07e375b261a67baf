"""Questions about the endpoint's state that several operations ask, and the facts for rules.

Everything here reads or changes the store through a :class:`~ipamsim.context.Context`; the
operations modules use these and never each other.
"""

from __future__ import annotations

from typing import Any

from netaddr import IPNetwork

from awsipam import rules
from awsipam.catalog import Violation
from awsipam.choices import DELETED_STATES, LIVE_CIDR_STATES, PoolState, ScopeType
from awsipam.facts import AllocationFacts, CidrFacts, IpamFacts, PoolFacts, ScopeFacts
from ipamsim.context import Context

Obj = dict[str, Any]


def operating_regions(ipam: Obj) -> list[str]:
    return [region["RegionName"] for region in ipam["OperatingRegions"]]


def live(objects: list[Obj]) -> list[Obj]:
    return [o for o in objects if o["State"] not in DELETED_STATES]


def ipam_pools(ctx: Context, ipam: Obj) -> list[Obj]:
    """The IPAM's pools not deleted, in creation order."""
    return live(ctx.store.select("pool", "ipam_arn", ipam["IpamArn"]))


def children(ctx: Context, pool: Obj) -> list[Obj]:
    return live(ctx.store.select("pool", "source", pool["IpamPoolId"]))


def pool_cidrs(ctx: Context, pool: Obj) -> list[Obj]:
    return ctx.store.select("cidr", "pool", pool["IpamPoolId"])


def live_cidrs(ctx: Context, pool: Obj) -> list[Obj]:
    """CIDRs that hold space: provisioned, or on their way to it."""
    return [c for c in pool_cidrs(ctx, pool) if c["State"] in LIVE_CIDR_STATES]


def pool_allocations(ctx: Context, pool: Obj) -> list[Obj]:
    return ctx.store.select("allocation", "pool", pool["IpamPoolId"])


def pool_count(ctx: Context, scope_id: str) -> int:
    """The scope's pools not deleted."""
    return ctx.store.count("pool", "live_in_scope", scope_id)


def ipam_scopes(ctx: Context, ipam: Obj) -> list[Obj]:
    """The IPAM's scopes not deleted, in creation order."""
    return live(ctx.store.select("scope", "ipam", ipam["IpamId"]))


def scope_count(ctx: Context, ipam: Obj) -> int:
    return len(ipam_scopes(ctx, ipam))


# --- facts for the rules ------------------------------------------------------------------


def pool_facts(ctx: Context, pool: Obj, *, with_space: bool = True) -> PoolFacts:
    """The pool as :mod:`awsipam.rules` sees it (with its CIDRs, allocations and children,
    unless ``with_space`` is false)."""
    space: dict[str, Any] = {}
    if with_space:
        space = {
            "cidrs": tuple(
                CidrFacts(IPNetwork(c["Cidr"]) if "Cidr" in c else None, c["State"])
                for c in pool_cidrs(ctx, pool)
            ),
            "allocations": tuple(
                AllocationFacts(
                    a["IpamPoolAllocationId"],
                    IPNetwork(a["Cidr"]),
                    a["ResourceType"],
                    a.get("ResourceId", ""),
                )
                for a in pool_allocations(ctx, pool)
            ),
            "child_count": len(children(ctx, pool)),
        }
    return PoolFacts(
        pool_id=pool["IpamPoolId"],
        scope_id=pool["_scope"],
        scope_type=pool["IpamScopeType"],
        address_family=pool["AddressFamily"],
        state=pool["State"],
        depth=pool["PoolDepth"],
        locale=rules.normalise_locale(pool["Locale"]),
        min_netmask=pool["AllocationMinNetmaskLength"],
        max_netmask=pool["AllocationMaxNetmaskLength"],
        default_netmask=pool.get("AllocationDefaultNetmaskLength"),
        source_pool_id=pool.get("SourceIpamPoolId"),
        public_ip_source=pool.get("PublicIpSource"),
        has_source_resource="SourceResource" in pool,
        **space,
    )


def scope_facts(ctx: Context, scope: Obj, *, with_top_level: bool = False) -> ScopeFacts:
    ipam = ctx.store.get("ipam", scope["_ipam"])
    top_level: tuple[tuple[str, IPNetwork], ...] = ()
    if with_top_level:
        cidrs = [
            c
            for top in ctx.store.select("pool", "top_of_scope", scope["IpamScopeId"])
            for c in pool_cidrs(ctx, top)
            if c["State"] in LIVE_CIDR_STATES and "Cidr" in c
        ]
        cidrs.sort(key=lambda c: c["_seq"])  # in creation order
        top_level = tuple((c["_pool"], IPNetwork(c["Cidr"])) for c in cidrs)
    return ScopeFacts(
        scope_id=scope["IpamScopeId"],
        scope_type=scope["IpamScopeType"],
        operating_regions=tuple(operating_regions(ipam)) if ipam else (),
        is_default=scope["IsDefault"],
        pool_count=pool_count(ctx, scope["IpamScopeId"]),
        top_level_cidrs=top_level,
    )


def ipam_facts(ctx: Context, ipam: Obj) -> IpamFacts:
    pools = ipam_pools(ctx, ipam)
    custom = sum(1 for s in ipam_scopes(ctx, ipam) if not s["IsDefault"])
    return IpamFacts(
        ipam_id=ipam["IpamId"],
        home_region=ipam["IpamRegion"],
        operating_regions=tuple(operating_regions(ipam)),
        tier=ipam["Tier"],
        custom_scope_count=custom,
        private_pool_count=sum(1 for p in pools if p["IpamScopeType"] == ScopeType.PRIVATE),
        public_pool_count=sum(1 for p in pools if p["IpamScopeType"] == ScopeType.PUBLIC),
        pool_locales=frozenset(
            rules.locale_region(locale)
            for p in pools
            if (locale := rules.normalise_locale(p["Locale"])) is not None
        ),
    )


# --- changes several operations make ------------------------------------------------------


def make_scope(
    ctx: Context,
    ipam: dict[str, Any],
    *,
    scope_type: str,
    is_default: bool,
    description: str | None = None,
    tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    scope_id = ctx.sim.new_id("ipam-scope-")
    scope = {
        "OwnerId": ctx.account_id,
        "IpamScopeId": scope_id,
        "IpamScopeArn": ctx.arn("ipam-scope", scope_id),
        "IpamArn": ipam["IpamArn"],
        "IpamRegion": ipam["IpamRegion"],
        "IpamScopeType": scope_type,
        "IsDefault": is_default,
        "PoolCount": 0,
        "Tags": tags or [],
        "_ipam": ipam["IpamId"],
    }
    if description is not None:
        scope["Description"] = description
    ctx.schedule("scope", scope, PoolState.CREATE_IN_PROGRESS, PoolState.CREATE_COMPLETE)
    return ctx.store.add("scope", scope_id, scope)


def add_allocation(
    ctx: Context,
    pool: Obj,
    network: IPNetwork,
    *,
    resource_type: str,
    resource_id: str | None = None,
    description: str | None = None,
    tags: list[dict[str, str]] | None = None,
) -> Obj:
    allocation_id = ctx.sim.new_id("ipam-pool-alloc-", 33)
    allocation = {
        "Cidr": str(network),
        "IpamPoolAllocationId": allocation_id,
        "ResourceType": resource_type,
        "ResourceOwner": ctx.account_id,
        "_pool": pool["IpamPoolId"],
        "_region": pool["IpamRegion"],
    }
    if resource_id:
        allocation["ResourceId"] = resource_id
        allocation["ResourceRegion"] = pool["IpamRegion"]
    if description is not None:
        allocation["Description"] = description
    if tags:
        allocation["Tags"] = tags
    return ctx.store.add("allocation", allocation_id, allocation)


def failure_reason(found: Violation) -> dict[str, str]:
    """The FailureReason a CIDR ends with when AWS accepted a request that breaks a rule."""
    return {"Code": found.rule.failure_code, "Message": found.message}


def deprovision(ctx: Context, cidr: Obj, *, failure: Violation | None = None) -> Obj:
    """Start deprovisioning a CIDR; it gives its space back to the source pool, or, given the
    rule it breaks (C7), ends ``failed-deprovision`` and keeps it."""
    if failure is not None:
        cidr["_failure_reason"] = failure_reason(failure)
        ctx.schedule("cidr", cidr, "pending-deprovision", failure.aws_code)
    else:
        allocation_id = cidr.pop("_allocation", None)
        if allocation_id:
            ctx.store.remove("allocation", allocation_id)
        ctx.schedule("cidr", cidr, "pending-deprovision", "deprovisioned")
    ctx.store.touch("cidr", cidr["IpamPoolCidrId"])
    return cidr


def delete_pool_tree(ctx: Context, pool: Obj) -> None:
    """Delete a pool with its child pools, CIDRs and allocations."""
    for child in children(ctx, pool):
        delete_pool_tree(ctx, child)
    for cidr in live_cidrs(ctx, pool):
        deprovision(ctx, cidr)
    for allocation in pool_allocations(ctx, pool):
        ctx.store.remove("allocation", allocation["IpamPoolAllocationId"])
    ctx.schedule("pool", pool, PoolState.DELETE_IN_PROGRESS, PoolState.DELETE_COMPLETE)
    pool.pop("_failure", None)
    ctx.store.touch("pool", pool["IpamPoolId"])


def specification_tags(params: dict[str, Any]) -> list[dict[str, str]]:
    """The tags of a request's TagSpecifications (already checked by the rules)."""
    return [{"Key": k, "Value": v} for k, v in rules.specification_tags(params)]
