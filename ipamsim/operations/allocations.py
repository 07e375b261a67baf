"""AllocateIpamPoolCidr, GetIpamPoolAllocations, ReleaseIpamPoolAllocation."""

from __future__ import annotations

from typing import Any

from awsipam import addressing, rules
from awsipam.choices import DELETED_STATES, AllocationResourceType
from ipamsim import listing, state
from ipamsim.context import Context, operation
from ipamsim.errors import ApiError

ALLOCATION_FILTERS = {
    "ipam-pool-allocation-id": listing.member("IpamPoolAllocationId"),
    "cidr": listing.member("Cidr"),
    "resource-type": listing.member("ResourceType"),
    "resource-id": listing.member("ResourceId"),
    "description": listing.member("Description"),
}


def _allocation_pool(
    ctx: Context, pool_id: str, *, include_deleted: bool = False
) -> dict[str, Any]:
    """The pool, seen from its home Region or from the Region of its locale.

    [model] Allocate and Release say "The Region you use should be the IPAM pool locale", and
    AWS's CLI example releases from there; the home Region is accepted as well [choice].
    """
    pool = ctx.store.get("pool", pool_id)
    if pool is not None and (include_deleted or pool["State"] not in DELETED_STATES):
        locale = rules.normalise_locale(pool["Locale"])
        if locale is not None and rules.locale_region(locale) == ctx.region:
            return pool
    return ctx.find("pool", pool_id, include_deleted=include_deleted)


@operation("AllocateIpamPoolCidr")
def allocate_ipam_pool_cidr(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pool = _allocation_pool(ctx, params["IpamPoolId"])
    facts = state.pool_facts(ctx, pool)
    preview = params.get("PreviewNextCidr", False)
    token = params.get("ClientToken")
    existing = None if preview else ctx.replay(token, params)
    if existing:
        return {"IpamPoolAllocation": ctx.store.get("allocation", existing)}
    ctx.refuse(rules.check_allocate_ipam_pool_cidr(params, pool=facts))
    if "Cidr" in params:
        network = addressing.parse_cidr(params["Cidr"], facts.address_family).network
    else:
        network = rules.next_allocation_cidr(params, pool=facts)
    if preview:
        return {"IpamPoolAllocation": {"Cidr": str(network)}}
    allocation = state.add_allocation(
        ctx,
        pool,
        network,
        resource_type=AllocationResourceType.CUSTOM,
        description=params.get("Description"),
        tags=state.specification_tags(params),
    )
    ctx.remember(token, params, allocation["IpamPoolAllocationId"])
    return {"IpamPoolAllocation": allocation}


@operation("GetIpamPoolAllocations")
def get_ipam_pool_allocations(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pool = _allocation_pool(ctx, params["IpamPoolId"], include_deleted=True)
    allocations = state.pool_allocations(ctx, pool)
    wanted = params.get("IpamPoolAllocationId")
    if wanted is not None:
        allocations = [a for a in allocations if a["IpamPoolAllocationId"] == wanted]
        if not allocations:
            raise ApiError(
                "InvalidIpamPoolAllocationId.NotFound",
                f"The IPAM pool allocation ({wanted}) does not exist.",
            )
    filters = listing.compile_filters(params.get("Filters"), ALLOCATION_FILTERS)
    items = (a for a in allocations if listing.matches(a, filters))
    found, token = listing.page(items, params.get("MaxResults"), params.get("NextToken"))
    return {"IpamPoolAllocations": found, "NextToken": token}


@operation("ReleaseIpamPoolAllocation")
def release_ipam_pool_allocation(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pool = _allocation_pool(ctx, params["IpamPoolId"])
    ctx.refuse(rules.check_release_ipam_pool_allocation(params, pool=state.pool_facts(ctx, pool)))
    ctx.store.remove("allocation", params["IpamPoolAllocationId"])
    return {"Success": True}
