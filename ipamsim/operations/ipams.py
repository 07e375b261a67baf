"""CreateIpam, DescribeIpams, ModifyIpam, DeleteIpam."""

from __future__ import annotations

from typing import Any

from awsipam import rules
from awsipam.choices import DELETED_STATES, PoolState, Tier
from ipamsim import listing, state
from ipamsim.context import Context, operation

IPAM_FILTERS = {
    "ipam-id": listing.member("IpamId"),
    "owner-id": listing.member("OwnerId"),
    "ipam-region": listing.member("IpamRegion"),
    "description": listing.member("Description"),
    "tier": listing.member("Tier"),
    "state": listing.member("State"),
    "operating-region": lambda o: [r["RegionName"] for r in o.get("OperatingRegions", [])],
}


@operation("CreateIpam")
def create_ipam(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    token = params.get("ClientToken")
    existing = ctx.replay(token, params)
    if existing:
        return {"Ipam": ctx.find("ipam", existing)}
    in_region = sum(1 for i in ctx.regional("ipam") if i["State"] not in DELETED_STATES)
    ctx.refuse(
        rules.check_create_ipam(
            params, region=ctx.region, ipams_in_region=in_region, quotas=ctx.sim.config.quotas
        )
    )
    requested = [r["RegionName"] for r in params.get("OperatingRegions", [])]
    # [aws] the CLI example shows the home Region added after the requested ones
    regions = list(dict.fromkeys([*requested, ctx.region]))
    tier = params.get("Tier", Tier.ADVANCED)  # [choice] the tier when none is asked for
    ipam_id = ctx.sim.new_id("ipam-")
    ipam = {
        "OwnerId": ctx.account_id,
        "IpamId": ipam_id,
        "IpamArn": ctx.arn("ipam", ipam_id),
        "IpamRegion": ctx.region,
        "ScopeCount": 2,
        "OperatingRegions": [{"RegionName": r} for r in regions],
        "Tags": state.specification_tags(params),
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
    private_scope = state.make_scope(ctx, ipam, scope_type="private", is_default=True)
    public_scope = state.make_scope(ctx, ipam, scope_type="public", is_default=True)
    ipam["PublicDefaultScopeId"] = public_scope["IpamScopeId"]
    ipam["PrivateDefaultScopeId"] = private_scope["IpamScopeId"]
    ctx.schedule("ipam", ipam, PoolState.CREATE_IN_PROGRESS, PoolState.CREATE_COMPLETE)
    ctx.store.add("ipam", ipam_id, ipam)
    ctx.remember(token, params, ipam_id)
    return {"Ipam": ipam}


@operation("DescribeIpams")
def describe_ipams(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    asked = [ctx.find("ipam", ipam_id) for ipam_id in params.get("IpamIds") or []]
    filters = listing.compile_filters(params.get("Filters"), IPAM_FILTERS)
    after = listing.start(params.get("NextToken"))
    candidates = listing.by_ids(asked, after) if asked else ctx.regional("ipam", after=after)
    items = (o for o in candidates if listing.matches(o, filters))
    found, token = listing.page(items, params.get("MaxResults"), params.get("NextToken"))
    return {"Ipams": [_with_scope_count(ctx, o) for o in found], "NextToken": token}


def _with_scope_count(ctx: Context, ipam: dict[str, Any]) -> dict[str, Any]:
    return ipam | {"ScopeCount": state.scope_count(ctx, ipam)}


@operation("ModifyIpam")
def modify_ipam(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ipam = ctx.find("ipam", params["IpamId"], include_deleted=False)
    facts = state.ipam_facts(ctx, ipam)
    ctx.refuse(rules.check_modify_ipam(params, ipam=facts))
    ipam["OperatingRegions"] = [{"RegionName": r} for r in rules.modified_regions(params, facts)]
    ipam["Tier"] = params.get("Tier", ipam["Tier"])
    for key in ("Description", "EnablePrivateGua", "MeteredAccount"):
        if key in params:
            ipam[key] = params[key]
    ctx.schedule("ipam", ipam, PoolState.MODIFY_IN_PROGRESS, PoolState.MODIFY_COMPLETE)
    ctx.store.touch("ipam", ipam["IpamId"])
    return {"Ipam": _with_scope_count(ctx, ipam)}


@operation("DeleteIpam")
def delete_ipam(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ipam = ctx.find("ipam", params["IpamId"], include_deleted=False)
    ctx.refuse(rules.check_delete_ipam(params, ipam=state.ipam_facts(ctx, ipam)))
    for pool in state.ipam_pools(ctx, ipam):
        if pool["State"] not in DELETED_STATES:  # not deleted with a pool before it
            state.delete_pool_tree(ctx, pool)
    for scope in state.ipam_scopes(ctx, ipam):
        ctx.schedule("scope", scope, PoolState.DELETE_IN_PROGRESS, PoolState.DELETE_COMPLETE)
        ctx.store.touch("scope", scope["IpamScopeId"])
    ctx.schedule("ipam", ipam, PoolState.DELETE_IN_PROGRESS, PoolState.DELETE_COMPLETE)
    ctx.store.touch("ipam", ipam["IpamId"])
    return {"Ipam": ipam}
