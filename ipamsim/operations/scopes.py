"""CreateIpamScope, DescribeIpamScopes, DeleteIpamScope."""

from __future__ import annotations

from typing import Any

from awsipam import rules
from awsipam.choices import PoolState
from ipamsim import listing, state
from ipamsim.context import Context, operation

SCOPE_FILTERS = {
    "ipam-id": lambda o: [o["_ipam"]],
    "owner-id": listing.member("OwnerId"),
    "ipam-scope-id": listing.member("IpamScopeId"),
    "ipam-scope-type": listing.member("IpamScopeType"),
    "ipam-arn": listing.member("IpamArn"),
    "is-default": listing.member("IsDefault"),
    "description": listing.member("Description"),
    "state": listing.member("State"),
}


@operation("CreateIpamScope")
def create_ipam_scope(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    token = params.get("ClientToken")
    existing = ctx.replay(token, params)
    if existing:
        return {"IpamScope": with_pool_count(ctx, ctx.find("scope", existing))}
    ipam = ctx.find("ipam", params["IpamId"], include_deleted=False)
    ctx.refuse(
        rules.check_create_ipam_scope(
            params, scope_count=state.scope_count(ctx, ipam), quotas=ctx.sim.config.quotas
        )
    )
    scope = state.make_scope(
        ctx,
        ipam,
        scope_type="private",
        is_default=False,
        description=params.get("Description"),
        tags=state.specification_tags(params),
    )
    ctx.remember(token, params, scope["IpamScopeId"])
    return {"IpamScope": scope}


def with_pool_count(ctx: Context, scope: dict[str, Any]) -> dict[str, Any]:
    return scope | {"PoolCount": state.pool_count(ctx, scope["IpamScopeId"])}


@operation("DescribeIpamScopes")
def describe_ipam_scopes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    asked = [ctx.find("scope", scope_id) for scope_id in params.get("IpamScopeIds") or []]
    filters = listing.compile_filters(params.get("Filters"), SCOPE_FILTERS)
    after = listing.start(params.get("NextToken"))
    candidates = listing.by_ids(asked, after) if asked else ctx.regional("scope", after=after)
    items = (o for o in candidates if listing.matches(o, filters))
    found, token = listing.page(items, params.get("MaxResults"), params.get("NextToken"))
    return {"IpamScopes": [with_pool_count(ctx, s) for s in found], "NextToken": token}


@operation("DeleteIpamScope")
def delete_ipam_scope(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.find("scope", params["IpamScopeId"], include_deleted=False)
    ctx.refuse(rules.check_delete_ipam_scope(params, scope=state.scope_facts(ctx, scope)))
    ctx.schedule("scope", scope, PoolState.DELETE_IN_PROGRESS, PoolState.DELETE_COMPLETE)
    ctx.store.touch("scope", scope["IpamScopeId"])
    return {"IpamScope": with_pool_count(ctx, scope)}
