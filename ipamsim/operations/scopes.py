"""CreateIpamScope, DescribeIpamScopes, DeleteIpamScope."""

from __future__ import annotations

from typing import Any

from ipamsim import listing
from ipamsim.errors import ApiError
from ipamsim.operations import DELETED, Context, operation, tags_for

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
    ctx.schedule("scope", scope, "create-in-progress", "create-complete")
    return ctx.store.add("scope", scope_id, scope)


@operation("CreateIpamScope")
def create_ipam_scope(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    token = params.get("ClientToken")
    existing = ctx.replay(token, params)
    if existing:
        return {"IpamScope": with_pool_count(ctx, ctx.find("scope", existing))}
    ipam = ctx.find("ipam", params["IpamId"], include_deleted=False)
    tags = tags_for(params, "ipam-scope")
    scopes = [
        s
        for s in ctx.store.all("scope")
        if s["_ipam"] == ipam["IpamId"] and s["State"] not in DELETED
    ]
    if len(scopes) >= ctx.sim.config.max_scopes_per_ipam:
        raise ApiError(
            "MaxIpamScopeLimitExceeded",  # [choice] the code
            f"An IPAM can have at most {ctx.sim.config.max_scopes_per_ipam} scopes.",
        )
    scope = make_scope(
        ctx,
        ipam,
        scope_type="private",
        is_default=False,
        description=params.get("Description"),
        tags=tags,
    )
    ctx.remember(token, params, scope["IpamScopeId"])
    return {"IpamScope": scope}


def with_pool_count(ctx: Context, scope: dict[str, Any], counts: dict[str, int] | None = None):
    if counts is None:
        counts = pool_counts(ctx)
    return scope | {"PoolCount": counts.get(scope["IpamScopeId"], 0)}


def pool_counts(ctx: Context) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pool in ctx.store.all("pool"):
        if pool["State"] not in DELETED:
            counts[pool["_scope"]] = counts.get(pool["_scope"], 0) + 1
    return counts


@operation("DescribeIpamScopes")
def describe_ipam_scopes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ids = params.get("IpamScopeIds")
    for scope_id in ids or []:
        ctx.find("scope", scope_id)
    filters = listing.compile_filters(params.get("Filters"), SCOPE_FILTERS)
    wanted = set(ids or [])
    items = (
        o
        for o in ctx.regional("scope")
        if (not wanted or o["IpamScopeId"] in wanted) and listing.matches(o, filters)
    )
    found, token = listing.page(items, params.get("MaxResults"), params.get("NextToken"))
    counts = pool_counts(ctx)
    return {"IpamScopes": [with_pool_count(ctx, s, counts) for s in found], "NextToken": token}


@operation("DeleteIpamScope")
def delete_ipam_scope(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.find("scope", params["IpamScopeId"], include_deleted=False)
    if scope["IsDefault"]:
        raise ApiError(
            "InvalidParameterCombination",  # [choice] the code
            "A default scope cannot be deleted.",
        )
    if pool_counts(ctx).get(scope["IpamScopeId"]):
        raise ApiError(
            "IncorrectState",  # [choice] the code
            f"The scope {scope['IpamScopeId']} still has pools.",
        )
    ctx.schedule("scope", scope, "delete-in-progress", "delete-complete")
    ctx.store.touch("scope", scope["IpamScopeId"])
    return {"IpamScope": with_pool_count(ctx, scope)}
