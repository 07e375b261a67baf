"""AllocateIpamPoolCidr, GetIpamPoolAllocations, ReleaseIpamPoolAllocation."""

from __future__ import annotations

from typing import Any

from netaddr import IPNetwork

from ipamsim import listing
from ipamsim.errors import ApiError
from ipamsim.operations import DELETED, Context, operation, tags_for
from ipamsim.operations.cidrs import _allocate, pool_allocations, provisioned_space, used_space
from ipamsim.operations.pools import require_usable
from pools import addressing, rules

ALLOCATION_FILTERS = {
    "ipam-pool-allocation-id": listing.member("IpamPoolAllocationId"),
    "cidr": listing.member("Cidr"),
    "resource-type": listing.member("ResourceType"),
    "resource-id": listing.member("ResourceId"),
    "description": listing.member("Description"),
}


def _networks(values: list[str], family: str, field: str) -> list[IPNetwork]:
    networks = []
    for value in values:
        parsed = addressing.parse_cidr(value, family, field=field)
        if parsed.violation:
            raise ApiError(parsed.violation.aws_code, parsed.violation.message)
        networks.append(parsed.network)
    return networks


def _allocation_pool(
    ctx: Context, pool_id: str, *, include_deleted: bool = False
) -> dict[str, Any]:
    """The pool, seen from its home Region or from the Region of its locale.

    [model] Allocate and Release say "The Region you use should be the IPAM pool locale", and
    AWS's CLI example releases from there; the home Region is accepted as well [choice].
    """
    pool = ctx.store.get("pool", pool_id)
    if pool is not None and (include_deleted or pool["State"] not in DELETED):
        locale = rules.normalise_locale(pool["Locale"])
        if locale is not None and (rules.local_zone_region(locale) or locale) == ctx.region:
            return pool
    return ctx.find("pool", pool_id, include_deleted=include_deleted)


@operation("AllocateIpamPoolCidr")
def allocate_ipam_pool_cidr(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pool = _allocation_pool(ctx, params["IpamPoolId"])
    family = pool["AddressFamily"]
    if "Cidr" in params and "NetmaskLength" in params:
        raise ApiError(
            "InvalidParameterCombination",
            "The request can contain Cidr or NetmaskLength, not both.",
        )
    if "Cidr" in params and (params.get("AllowedCidrs") or params.get("DisallowedCidrs")):
        raise ApiError(
            "InvalidParameterCombination",
            "AllowedCidrs and DisallowedCidrs can only be used with NetmaskLength.",
        )
    network = None
    if "Cidr" in params:
        network = _networks([params["Cidr"]], family, "Cidr")[0]
        length = network.prefixlen
    else:
        length = params.get("NetmaskLength", pool.get("AllocationDefaultNetmaskLength"))
        if length is None:
            raise ApiError(
                "MissingParameter",
                "The request must contain Cidr or NetmaskLength, as the pool has no "
                "default netmask length.",
            )
    allowed = _networks(params.get("AllowedCidrs", []), family, "AllowedCidrs")
    disallowed = _networks(params.get("DisallowedCidrs", []), family, "DisallowedCidrs")
    tags = tags_for(params, "ipam-pool-allocation")
    require_usable(pool)
    if rules.normalise_locale(pool["Locale"]) is None:
        raise ApiError(
            "InvalidParameterCombination",  # [choice] the code
            f"The pool {pool['IpamPoolId']} has no locale; only a pool with a locale can allocate.",
        )
    preview = params.get("PreviewNextCidr", False)
    token = params.get("ClientToken")
    existing = None if preview else ctx.replay(token, params)
    if existing:
        return {"IpamPoolAllocation": ctx.store.get("allocation", existing)}

    low, high = pool["AllocationMinNetmaskLength"], pool["AllocationMaxNetmaskLength"]
    space, used = provisioned_space(ctx, pool), used_space(ctx, pool)
    if network is None:
        if not low <= length <= high:
            raise ApiError(
                "InvalidParameterValue",
                f"The pool allows netmask lengths /{low} to /{high}; /{length} is outside them.",
            )
        network = addressing.lowest_free_block(
            space, used, length, allowed=allowed, disallowed=disallowed
        )
        if network is None:
            raise ApiError(
                "InsufficientCidrBlocks",  # [choice] the code
                f"The pool {pool['IpamPoolId']} has no free /{length}.",
            )
    else:
        violation = addressing.check_in_free_space(
            network,
            space=space,
            used=used,
            min_netmask=low,
            max_netmask=high,
            pool_label="the pool",
        )
        if violation:
            raise ApiError(violation.aws_code, violation.message)
    if preview:
        return {"IpamPoolAllocation": {"Cidr": str(network)}}
    allocation = _allocate(
        ctx, pool, network, resource_type="custom", description=params.get("Description"), tags=tags
    )
    ctx.remember(token, params, allocation["IpamPoolAllocationId"])
    return {"IpamPoolAllocation": allocation}


@operation("GetIpamPoolAllocations")
def get_ipam_pool_allocations(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pool = _allocation_pool(ctx, params["IpamPoolId"], include_deleted=True)
    allocations = pool_allocations(ctx, pool)
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
    allocation = ctx.store.get("allocation", params["IpamPoolAllocationId"])
    parsed = addressing.parse_cidr(params["Cidr"])
    if (
        allocation is None
        or allocation["_pool"] != pool["IpamPoolId"]
        or parsed.network is None
        or allocation["Cidr"] != str(parsed.network)
    ):
        raise ApiError(
            "InvalidParameterCombination",
            f"No allocation found for {params['IpamPoolAllocationId']} with CIDR "
            f"{params['Cidr']} in the pool {pool['IpamPoolId']}.",
        )
    if allocation["ResourceType"] != "custom":
        raise ApiError(
            "InvalidParameterCombination",  # [choice] the code
            "Only custom allocations can be released; this one belongs to "
            f"{allocation.get('ResourceId')}.",
        )
    ctx.store.remove("allocation", allocation["IpamPoolAllocationId"])
    return {"Success": True}
