"""ProvisionIpamPoolCidr, GetIpamPoolCidrs, DeprovisionIpamPoolCidr, and a pool's address space."""

from __future__ import annotations

from typing import Any

from netaddr import IPNetwork

from ipamsim import listing
from ipamsim.errors import ApiError
from ipamsim.operations import Context, operation
from ipamsim.operations.pools import require_usable
from pools import addressing, rules

LIVE_CIDR_STATES = ("pending-provision", "provisioned")
AMAZON_IPV6_SPACE = IPNetwork("2600:1f00::/24")  # [choice] where Amazon-provided IPv6 comes from
CIDR_FILTERS = {"cidr": listing.member("Cidr"), "state": listing.member("State")}


def live_cidrs(ctx: Context, pool: dict[str, Any]) -> list[dict[str, Any]]:
    """CIDRs that hold space: provisioned, or on their way to it."""
    return [
        c
        for c in ctx.store.all("cidr")
        if c["_pool"] == pool["IpamPoolId"] and c["State"] in LIVE_CIDR_STATES
    ]


def provisioned_space(ctx: Context, pool: dict[str, Any]) -> list[IPNetwork]:
    return [
        IPNetwork(c["Cidr"])
        for c in ctx.store.all("cidr")
        if c["_pool"] == pool["IpamPoolId"] and c["State"] == "provisioned"
    ]


def pool_allocations(ctx: Context, pool: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in ctx.store.all("allocation") if a["_pool"] == pool["IpamPoolId"]]


def used_space(ctx: Context, pool: dict[str, Any]) -> list[IPNetwork]:
    return [IPNetwork(a["Cidr"]) for a in pool_allocations(ctx, pool)]


def _top_level_space(ctx: Context, pool: dict[str, Any]) -> list[IPNetwork]:
    """CIDRs of the top-level pools in the pool's scope: they may not overlap."""
    tops = {
        p["IpamPoolId"]
        for p in ctx.store.all("pool")
        if p["_scope"] == pool["_scope"] and "SourceIpamPoolId" not in p
    }
    return [
        IPNetwork(c["Cidr"])
        for c in ctx.store.all("cidr")
        if c["_pool"] in tops and c["State"] in LIVE_CIDR_STATES and "Cidr" in c
    ]


def _violation_error(violation: rules.Violation | None) -> None:
    if violation is not None:
        raise ApiError(violation.aws_code, violation.message)


@operation("ProvisionIpamPoolCidr")
def provision_ipam_pool_cidr(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pool = ctx.find("pool", params["IpamPoolId"], include_deleted=False)
    if ("Cidr" in params) == ("NetmaskLength" in params):
        raise ApiError(
            "InvalidParameterCombination",
            "The request must contain exactly one of Cidr and NetmaskLength.",
        )
    network = None
    if "Cidr" in params:
        parsed = addressing.parse_cidr(params["Cidr"], pool["AddressFamily"])
        _violation_error(parsed.violation)
        network = parsed.network
    elif not 0 <= params["NetmaskLength"] <= rules.netmask_limit(pool["AddressFamily"]):
        raise ApiError(
            "InvalidParameterValue",
            f"The netmask length {params['NetmaskLength']} is out of range.",
        )
    require_usable(pool)
    token = params.get("ClientToken")
    existing = ctx.replay(token, params)
    if existing:
        return {"IpamPoolCidr": ctx.store.get("cidr", existing)}
    if len(live_cidrs(ctx, pool)) >= ctx.sim.config.max_cidrs_per_pool:
        raise ApiError(
            "LimitExceeded",  # [choice] the code
            f"The pool {pool['IpamPoolId']} already has the maximum of "
            f"{ctx.sim.config.max_cidrs_per_pool} CIDRs.",
        )

    source = ctx.store.get("pool", pool["SourceIpamPoolId"]) if "SourceIpamPoolId" in pool else None
    failure = None
    if source is not None:
        space, used = provisioned_space(ctx, source), used_space(ctx, source)
        low, high = source["AllocationMinNetmaskLength"], source["AllocationMaxNetmaskLength"]
        if network is None:
            length = params["NetmaskLength"]
            if not low <= length <= high:
                raise ApiError(
                    "InvalidParameterValue",
                    f"The source pool allows netmask lengths /{low} to /{high}; "
                    f"/{length} is outside them.",
                )
            network = addressing.lowest_free_block(space, used, length)
            if network is None:
                failure = {
                    "Code": "cidr-not-available",
                    "Message": f"No free /{length} is left in the source pool.",
                }
        else:
            _violation_error(
                addressing.check_in_free_space(
                    network,
                    space=space,
                    used=used,
                    min_netmask=low,
                    max_netmask=high,
                    pool_label=f"the source pool {source['IpamPoolId']}",
                )
            )
    elif network is None:
        if not (pool["AddressFamily"] == "ipv6" and pool.get("PublicIpSource") == "amazon"):
            raise ApiError(
                "InvalidParameterCombination",
                "NetmaskLength can only be used for a pool with a source pool or an "
                "Amazon-provided IPv6 pool.",
            )
        network = addressing.lowest_free_block(
            [AMAZON_IPV6_SPACE], _top_level_space(ctx, pool), params["NetmaskLength"]
        )
        if network is None:
            failure = {
                "Code": "cidr-not-available",
                "Message": f"No Amazon-provided /{params['NetmaskLength']} is available.",
            }
    else:
        clashes = addressing.overlapping(network, _top_level_space(ctx, pool))
        if clashes:
            raise ApiError(
                "InvalidParameterValue",  # [choice] the code
                f"The CIDR {network} overlaps {clashes[0]}, which is provisioned to "
                "another pool in this scope.",
            )

    cidr_id = ctx.sim.new_id("ipam-pool-cidr-", 32)
    record: dict[str, Any] = {
        "IpamPoolCidrId": cidr_id,
        "NetmaskLength": network.prefixlen if network is not None else params["NetmaskLength"],
        "_pool": pool["IpamPoolId"],
        "_region": ctx.region,
    }
    if failure:
        record["_failure_reason"] = failure
        ctx.schedule("cidr", record, "pending-provision", "failed-provision")
    else:
        record["Cidr"] = str(network)
        ctx.schedule("cidr", record, "pending-provision", "provisioned")
        if source is not None:
            record["_allocation"] = _allocate(
                ctx, source, network, resource_type="ipam-pool", resource_id=pool["IpamPoolId"]
            )["IpamPoolAllocationId"]
    ctx.store.add("cidr", cidr_id, record)
    ctx.remember(token, params, cidr_id)
    return {"IpamPoolCidr": record}


def _allocate(
    ctx: Context,
    pool: dict[str, Any],
    network: IPNetwork,
    *,
    resource_type: str,
    resource_id: str | None = None,
    description: str | None = None,
    tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
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


@operation("GetIpamPoolCidrs")
def get_ipam_pool_cidrs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pool = ctx.find("pool", params["IpamPoolId"])
    filters = listing.compile_filters(params.get("Filters"), CIDR_FILTERS)
    items = (
        c
        for c in ctx.store.all("cidr")
        if c["_pool"] == pool["IpamPoolId"] and listing.matches(c, filters)
    )
    found, token = listing.page(items, params.get("MaxResults"), params.get("NextToken"))
    return {"IpamPoolCidrs": [_with_failure(c) for c in found], "NextToken": token}


def _with_failure(cidr: dict[str, Any]) -> dict[str, Any]:
    if cidr["State"] == "failed-provision":
        return cidr | {"FailureReason": cidr["_failure_reason"]}
    return cidr


@operation("DeprovisionIpamPoolCidr")
def deprovision_ipam_pool_cidr(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pool = ctx.find("pool", params["IpamPoolId"], include_deleted=False)
    wanted = params.get("Cidr")
    if wanted is None:
        raise ApiError("MissingParameter", "The request must contain the parameter Cidr")
    parsed = addressing.parse_cidr(wanted, pool["AddressFamily"])
    _violation_error(parsed.violation)
    wanted = str(parsed.network)  # as it was stored: "FD00::/8" names fd00::/8
    records = [
        c
        for c in ctx.store.all("cidr")
        if c["_pool"] == pool["IpamPoolId"] and c.get("Cidr") == wanted
    ]
    live = [c for c in records if c["State"] in LIVE_CIDR_STATES]
    if not live:
        if records:
            raise ApiError(
                "IncorrectState",
                f"The CIDR {wanted} is {records[-1]['State']} in the pool {pool['IpamPoolId']}.",
            )
        raise ApiError(
            "InvalidParameterValue",  # [choice] the code
            f"The CIDR {wanted} is not provisioned to the pool {pool['IpamPoolId']}.",
        )
    network = IPNetwork(wanted)
    held = addressing.overlapping(network, used_space(ctx, pool))
    if held:
        raise ApiError(
            "IncorrectState",  # [choice] the code
            f"The CIDR {wanted} still holds allocations ({held[0]}); release them first.",
        )
    return {"IpamPoolCidr": deprovision(ctx, pool, live[0])}


def deprovision(ctx: Context, pool: dict[str, Any], cidr: dict[str, Any]) -> dict[str, Any]:
    """Start deprovisioning, and give the space back to the source pool."""
    allocation_id = cidr.pop("_allocation", None)
    if allocation_id:
        ctx.store.remove("allocation", allocation_id)
    ctx.schedule("cidr", cidr, "pending-deprovision", "deprovisioned")
    ctx.store.touch("cidr", cidr["IpamPoolCidrId"])
    return cidr
