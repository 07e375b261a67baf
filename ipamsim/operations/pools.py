"""CreateIpamPool, DescribeIpamPools, ModifyIpamPool, DeleteIpamPool."""

from __future__ import annotations

from typing import Any

from awsipam import rules
from awsipam.choices import PoolState, PublicIpSource, ScopeType
from awsipam.constants import NO_LOCALE
from ipamsim import listing, state
from ipamsim.context import Context, operation

POOL_FILTERS = {
    "owner-id": listing.member("OwnerId"),
    "ipam-pool-id": listing.member("IpamPoolId"),
    "ipam-scope-id": lambda o: [o["_scope"]],
    "ipam-scope-arn": listing.member("IpamScopeArn"),
    "ipam-scope-type": listing.member("IpamScopeType"),
    "ipam-arn": listing.member("IpamArn"),
    "locale": listing.member("Locale"),
    "address-family": listing.member("AddressFamily"),
    "description": listing.member("Description"),
    "state": listing.member("State"),
    "pool-depth": listing.member("PoolDepth"),
    "source-ipam-pool-id": listing.member("SourceIpamPoolId"),
    "auto-import": listing.member("AutoImport"),
    "publicly-advertisable": listing.member("PubliclyAdvertisable"),
    "aws-service": listing.member("AwsService"),
}


@operation("CreateIpamPool")
def create_ipam_pool(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ctx.refuse(rules.create_ipam_pool_syntax(params))
    token = params.get("ClientToken")
    existing = ctx.replay(token, params)
    if existing:
        return {"IpamPool": ctx.find("pool", existing)}

    scope = ctx.find("scope", params["IpamScopeId"], include_deleted=False)
    ipam = ctx.find("ipam", scope["_ipam"])
    source = None
    if "SourceIpamPoolId" in params:
        source = ctx.find("pool", params["SourceIpamPoolId"], include_deleted=False)
    source_info = state.pool_facts(ctx, source, with_space=False) if source else None
    ctx.refuse(
        rules.check_create_ipam_pool(
            params,
            scope=state.scope_facts(ctx, scope),
            source=source_info,
            quotas=ctx.sim.config.quotas,
        )
    )

    family = params["AddressFamily"]
    low, high = rules.effective_netmask_range(
        family, params.get("AllocationMinNetmaskLength"), params.get("AllocationMaxNetmaskLength")
    )
    pool_id = ctx.sim.new_id("ipam-pool-")
    pool: dict[str, Any] = {
        "OwnerId": ctx.account_id,
        "IpamPoolId": pool_id,
        "IpamPoolArn": ctx.arn("ipam-pool", pool_id),
        "IpamScopeArn": scope["IpamScopeArn"],
        "IpamScopeType": scope["IpamScopeType"],
        "IpamArn": ipam["IpamArn"],
        "IpamRegion": ipam["IpamRegion"],
        "Locale": rules.new_pool_locale(params, source_info) or NO_LOCALE,
        "PoolDepth": rules.child_depth(source_info),
        "AutoImport": params.get("AutoImport", False),
        "AddressFamily": family,
        "AllocationMinNetmaskLength": low,
        "AllocationMaxNetmaskLength": high,
        "AllocationResourceTags": params.get("AllocationResourceTags", []),
        "Tags": state.specification_tags(params),
        "_scope": scope["IpamScopeId"],
    }
    optional = ("SourceIpamPoolId", "Description", "AllocationDefaultNetmaskLength", "AwsService")
    pool.update({key: params[key] for key in optional if key in params})
    if scope["IpamScopeType"] == ScopeType.PUBLIC:
        pool["PublicIpSource"] = params.get("PublicIpSource", PublicIpSource.BYOIP)
        if family == "ipv6":
            # C12: an Amazon-provided pool is never publicly advertisable.
            advertisable = pool["PublicIpSource"] == PublicIpSource.BYOIP
            pool["PubliclyAdvertisable"] = params.get("PubliclyAdvertisable", advertisable)
    source_resource = params.get("SourceResource")
    if source_resource:
        pool["SourceResource"] = {
            "ResourceType": "vpc",
            "ResourceOwner": ctx.account_id,
            **source_resource,
        }
    failure = ctx.sim.take_create_failure()
    if failure:
        pool["_failure"] = failure
    ctx.schedule("pool", pool, PoolState.CREATE_IN_PROGRESS, PoolState.CREATE_COMPLETE)
    ctx.store.add("pool", pool_id, pool)
    ctx.remember(token, params, pool_id)
    return {"IpamPool": pool}


@operation("DescribeIpamPools")
def describe_ipam_pools(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    asked = [ctx.find("pool", pool_id) for pool_id in params.get("IpamPoolIds") or []]
    filters = listing.compile_filters(params.get("Filters"), POOL_FILTERS)
    after = listing.start(params.get("NextToken"))
    candidates = listing.by_ids(asked, after) if asked else ctx.regional("pool", after=after)
    items = (o for o in candidates if listing.matches(o, filters))
    found, token = listing.page(items, params.get("MaxResults"), params.get("NextToken"))
    return {"IpamPools": found, "NextToken": token}


# [aws] the CLI example of modify-ipam-pool answers modify-complete at once (ModifyIpam's
# example answers modify-in-progress, and that one keeps the create delay).
MODIFIED_POOL_STATE = PoolState.MODIFY_COMPLETE


@operation("ModifyIpamPool")
def modify_ipam_pool(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pool = ctx.find("pool", params["IpamPoolId"], include_deleted=False)
    facts = state.pool_facts(ctx, pool, with_space=False)
    ctx.refuse(rules.check_modify_ipam_pool(params, pool=facts))
    minimum, maximum, default = rules.modified_netmasks(params, facts)
    pool["AllocationMinNetmaskLength"] = minimum
    pool["AllocationMaxNetmaskLength"] = maximum
    if default is None:
        pool.pop("AllocationDefaultNetmaskLength", None)
    else:
        pool["AllocationDefaultNetmaskLength"] = default
    for key in ("Description", "AutoImport"):
        if key in params:
            pool[key] = params[key]
    added = params.get("AddAllocationResourceTags", [])
    removed = {
        (t.get("Key"), t.get("Value")) for t in params.get("RemoveAllocationResourceTags", [])
    }
    kept = [t for t in pool["AllocationResourceTags"] if (t["Key"], t.get("Value")) not in removed]
    added_keys = {t["Key"] for t in added}
    pool["AllocationResourceTags"] = [t for t in kept if t["Key"] not in added_keys] + [
        {"Key": t["Key"], "Value": t.get("Value", "")} for t in added
    ]
    pool["State"] = MODIFIED_POOL_STATE
    ctx.store.touch("pool", pool["IpamPoolId"])
    return {"IpamPool": pool}


@operation("DeleteIpamPool")
def delete_ipam_pool(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pool = ctx.find("pool", params["IpamPoolId"], include_deleted=False)
    ctx.refuse(rules.check_delete_ipam_pool(params, pool=state.pool_facts(ctx, pool)))
    state.delete_pool_tree(ctx, pool)
    return {"IpamPool": pool}
