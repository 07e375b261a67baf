"""CreateIpam, DescribeIpams, ModifyIpam, DeleteIpam."""

from __future__ import annotations

from typing import Any

from ipamsim import listing
from ipamsim.errors import ApiError
from ipamsim.operations import DELETED, Context, operation, tags_for
from ipamsim.operations.scopes import make_scope
from pools import rules

IPAM_FILTERS = {
    "ipam-id": listing.member("IpamId"),
    "owner-id": listing.member("OwnerId"),
    "ipam-region": listing.member("IpamRegion"),
    "description": listing.member("Description"),
    "tier": listing.member("Tier"),
    "state": listing.member("State"),
    "operating-region": lambda o: [r["RegionName"] for r in o.get("OperatingRegions", [])],
}


def operating_regions(ipam: dict[str, Any]) -> list[str]:
    return [region["RegionName"] for region in ipam["OperatingRegions"]]


def _check_regions(regions: list[str]) -> None:
    for region in regions:
        if not rules.is_region_name(region):
            raise ApiError("InvalidParameterValue", f"The Region '{region}' is not valid.")


def _check_tier(tier: str, regions: list[str], home: str) -> None:
    if tier == "free" and set(regions) - {home}:
        raise ApiError(
            "InvalidParameterCombination",
            "The Free tier allows only the home Region as operating Region.",
        )


@operation("CreateIpam")
def create_ipam(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    token = params.get("ClientToken")
    existing = ctx.replay(token, params)
    if existing:
        return {"Ipam": ctx.find("ipam", existing)}
    requested = [r["RegionName"] for r in params.get("OperatingRegions", [])]
    _check_regions(requested)
    # [aws] the CLI example shows the home Region added after the requested ones
    regions = list(dict.fromkeys([*requested, ctx.region]))
    tier = params.get("Tier", "advanced")  # [choice] the tier when none is asked for
    _check_tier(tier, regions, ctx.region)
    tags = tags_for(params, "ipam")
    ipam_id = ctx.sim.new_id("ipam-")
    ipam = {
        "OwnerId": ctx.account_id,
        "IpamId": ipam_id,
        "IpamArn": ctx.arn("ipam", ipam_id),
        "IpamRegion": ctx.region,
        "ScopeCount": 2,
        "OperatingRegions": [{"RegionName": r} for r in regions],
        "Tags": tags,
        "Tier": tier,
        "ResourceDiscoveryAssociationCount": 1,
        "DefaultResourceDiscoveryId": ctx.sim.new_id("ipam-res-disco-"),
        "DefaultResourceDiscoveryAssociationId": ctx.sim.new_id("ipam-res-disco-assoc-"),
        "EnablePrivateGua": params.get("EnablePrivateGua", False),
        "MeteredAccount": params.get("MeteredAccount", "ipam-owner"),
    }
    if "Description" in params:
        ipam["Description"] = params["Description"]
    # [aws] describe-ipam-scopes lists the private default scope first
    private_scope = make_scope(ctx, ipam, scope_type="private", is_default=True)
    public_scope = make_scope(ctx, ipam, scope_type="public", is_default=True)
    ipam["PublicDefaultScopeId"] = public_scope["IpamScopeId"]
    ipam["PrivateDefaultScopeId"] = private_scope["IpamScopeId"]
    ctx.schedule("ipam", ipam, "create-in-progress", "create-complete")
    ctx.store.add("ipam", ipam_id, ipam)
    ctx.remember(token, params, ipam_id)
    return {"Ipam": ipam}


@operation("DescribeIpams")
def describe_ipams(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ids = params.get("IpamIds")
    for ipam_id in ids or []:
        ctx.find("ipam", ipam_id)
    filters = listing.compile_filters(params.get("Filters"), IPAM_FILTERS)
    wanted = set(ids or [])
    items = (
        o
        for o in ctx.regional("ipam")
        if (not wanted or o["IpamId"] in wanted) and listing.matches(o, filters)
    )
    found, token = listing.page(items, params.get("MaxResults"), params.get("NextToken"))
    return {"Ipams": [_with_scope_count(ctx, o) for o in found], "NextToken": token}


def _with_scope_count(ctx: Context, ipam: dict[str, Any]) -> dict[str, Any]:
    count = sum(
        1
        for s in ctx.store.all("scope")
        if s["_ipam"] == ipam["IpamId"] and s["State"] not in DELETED
    )
    return ipam | {"ScopeCount": count}


@operation("ModifyIpam")
def modify_ipam(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ipam = ctx.find("ipam", params["IpamId"], include_deleted=False)
    added = [r["RegionName"] for r in params.get("AddOperatingRegions", [])]
    removed = [r["RegionName"] for r in params.get("RemoveOperatingRegions", [])]
    _check_regions(added + removed)
    home = ipam["IpamRegion"]
    if home in removed:
        raise ApiError(
            "InvalidParameterCombination",
            f"The home Region ({home}) cannot be removed from the operating Regions.",
        )
    regions = [r for r in operating_regions(ipam) if r not in removed]
    regions += [r for r in dict.fromkeys(added) if r not in regions]
    tier = params.get("Tier", ipam["Tier"])
    _check_tier(tier, regions, home)
    in_use = {
        rules.local_zone_region(p["Locale"]) or p["Locale"]
        for p in ctx.store.all("pool")
        if p["IpamArn"] == ipam["IpamArn"] and p["State"] not in DELETED
    }
    still_used = [r for r in removed if r in in_use]
    if still_used:
        raise ApiError(
            "InvalidParameterCombination",
            f"The operating Region {still_used[0]} is the locale of a pool.",
        )  # [choice]
    ipam["OperatingRegions"] = [{"RegionName": r} for r in regions]
    ipam["Tier"] = tier
    for key in ("Description", "EnablePrivateGua", "MeteredAccount"):
        if key in params:
            ipam[key] = params[key]
    ctx.schedule("ipam", ipam, "modify-in-progress", "modify-complete")
    ctx.store.touch("ipam", ipam["IpamId"])
    return {"Ipam": _with_scope_count(ctx, ipam)}


@operation("DeleteIpam")
def delete_ipam(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    from ipamsim.operations.pools import delete_pool_tree

    ipam = ctx.find("ipam", params["IpamId"], include_deleted=False)
    pools = [
        p
        for p in ctx.store.all("pool")
        if p["IpamArn"] == ipam["IpamArn"] and p["State"] not in DELETED
    ]
    if pools and not params.get("Cascade"):
        raise ApiError(
            "IncorrectState",  # [choice] the code
            f"The IPAM {ipam['IpamId']} still has pools; delete them or use Cascade.",
        )
    for pool in pools:
        if pool["State"] not in DELETED:
            delete_pool_tree(ctx, pool)
    for scope in ctx.store.all("scope"):
        if scope["_ipam"] == ipam["IpamId"] and scope["State"] not in DELETED:
            ctx.schedule("scope", scope, "delete-in-progress", "delete-complete")
            ctx.store.touch("scope", scope["IpamScopeId"])
    ctx.schedule("ipam", ipam, "delete-in-progress", "delete-complete")
    ctx.store.touch("ipam", ipam["IpamId"])
    return {"Ipam": ipam}
