"""CreateIpamPool, DescribeIpamPools, ModifyIpamPool, DeleteIpamPool."""

from __future__ import annotations

from typing import Any

from ipamsim import listing
from ipamsim.errors import ApiError
from ipamsim.operations import DELETED, Context, operation, raise_first, tags_for
from ipamsim.operations.ipams import operating_regions
from pools import rules

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


def source_facts(pool: dict[str, Any]) -> rules.SourcePoolFacts:
    return rules.SourcePoolFacts(
        pool_id=pool["IpamPoolId"],
        scope_id=pool["_scope"],
        address_family=pool["AddressFamily"],
        state=pool["State"],
        pool_depth=pool["PoolDepth"],
        locale=rules.normalise_locale(pool["Locale"]),
    )


def require_usable(pool: dict[str, Any]) -> None:
    if pool["State"] not in rules.USABLE_POOL_STATES:
        raise ApiError(
            rules.INCORRECT_STATE, f"The pool {pool['IpamPoolId']} is in the state {pool['State']}."
        )


@operation("CreateIpamPool")
def create_ipam_pool(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    family = params["AddressFamily"]
    raise_first(
        rules.check_netmask_lengths(
            family,
            params.get("AllocationMinNetmaskLength"),
            params.get("AllocationMaxNetmaskLength"),
            params.get("AllocationDefaultNetmaskLength"),
        )
    )
    if params.get("Locale") == "":
        raise ApiError("InvalidParameterValue", "The locale '' is not valid.")
    tags = tags_for(params, "ipam-pool")
    token = params.get("ClientToken")
    existing = ctx.replay(token, params)
    if existing:
        return {"IpamPool": ctx.find("pool", existing)}

    scope = ctx.find("scope", params["IpamScopeId"], include_deleted=False)
    ipam = ctx.find("ipam", scope["_ipam"])
    source = None
    if "SourceIpamPoolId" in params:
        source = ctx.find("pool", params["SourceIpamPoolId"], include_deleted=False)
    source_resource = params.get("SourceResource")
    if source_resource and source_resource.get("ResourceType", "vpc") != "vpc":
        raise ApiError("InvalidParameterValue", "A SourceResource must be a vpc.")
    locale = rules.normalise_locale(params.get("Locale"))
    source_info = source_facts(source) if source else None
    raise_first(
        rules.check_create_pool(
            scope_id=scope["IpamScopeId"],
            scope_type=scope["IpamScopeType"],
            operating_regions=operating_regions(ipam),
            address_family=family,
            locale=locale,
            source=source_info,
            min_netmask=params.get("AllocationMinNetmaskLength"),
            max_netmask=params.get("AllocationMaxNetmaskLength"),
            default_netmask=params.get("AllocationDefaultNetmaskLength"),
            publicly_advertisable=params.get("PubliclyAdvertisable"),
            public_ip_source=params.get("PublicIpSource"),
            aws_service=params.get("AwsService"),
            tags=[(t["Key"], t["Value"]) for t in tags],
            source_resource=source_resource,
        )
    )
    if source_resource and source_info:
        locale = source_info.locale
    in_scope = sum(
        1
        for p in ctx.store.all("pool")
        if p["_scope"] == scope["IpamScopeId"] and p["State"] not in DELETED
    )
    if in_scope >= ctx.sim.config.max_pools_per_scope:
        raise ApiError(
            "LimitExceeded",  # [choice] the code
            f"The scope {scope['IpamScopeId']} already has the maximum of "
            f"{ctx.sim.config.max_pools_per_scope} pools.",
        )

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
        "Locale": locale or rules.NO_LOCALE,
        "PoolDepth": rules.child_depth(source_info),
        "AutoImport": params.get("AutoImport", False),
        "AddressFamily": family,
        "AllocationMinNetmaskLength": low,
        "AllocationMaxNetmaskLength": high,
        "AllocationResourceTags": params.get("AllocationResourceTags", []),
        "Tags": tags,
        "_scope": scope["IpamScopeId"],
    }
    optional = ("SourceIpamPoolId", "Description", "AllocationDefaultNetmaskLength", "AwsService")
    pool.update({key: params[key] for key in optional if key in params})
    if scope["IpamScopeType"] == "public":
        pool["PublicIpSource"] = params.get("PublicIpSource", "byoip")
        if family == "ipv6":
            pool["PubliclyAdvertisable"] = params.get("PubliclyAdvertisable", True)
    if source_resource:
        pool["SourceResource"] = {
            "ResourceType": "vpc",
            "ResourceOwner": ctx.account_id,
            **source_resource,
        }
    failure = ctx.sim.take_create_failure()
    if failure:
        pool["_failure"] = failure
    ctx.schedule("pool", pool, "create-in-progress", "create-complete")
    ctx.store.add("pool", pool_id, pool)
    ctx.remember(token, params, pool_id)
    return {"IpamPool": pool}


@operation("DescribeIpamPools")
def describe_ipam_pools(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ids = params.get("IpamPoolIds")
    for pool_id in ids or []:
        ctx.find("pool", pool_id)
    filters = listing.compile_filters(params.get("Filters"), POOL_FILTERS)
    wanted = set(ids or [])
    items = (
        o
        for o in ctx.regional("pool")
        if (not wanted or o["IpamPoolId"] in wanted) and listing.matches(o, filters)
    )
    found, token = listing.page(items, params.get("MaxResults"), params.get("NextToken"))
    return {"IpamPools": found, "NextToken": token}


# [aws] the CLI example of modify-ipam-pool answers modify-complete at once (ModifyIpam's
# example answers modify-in-progress, and that one keeps the create delay).
MODIFIED_POOL_STATE = "modify-complete"

MODIFIABLE = (
    "Description",
    "AutoImport",
    "AllocationMinNetmaskLength",
    "AllocationMaxNetmaskLength",
    "AllocationDefaultNetmaskLength",
    "ClearAllocationDefaultNetmaskLength",
    "AddAllocationResourceTags",
    "RemoveAllocationResourceTags",
)


def _modifies(key: str, value: Any) -> bool:
    """Whether a ModifyIpamPool member asks for a change (``Clear...=false`` and ``[]`` do not)."""
    if key == "ClearAllocationDefaultNetmaskLength":
        return value is True
    return value != []


@operation("ModifyIpamPool")
def modify_ipam_pool(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pool = ctx.find("pool", params["IpamPoolId"], include_deleted=False)
    if not any(_modifies(key, params[key]) for key in MODIFIABLE if key in params):
        raise ApiError(
            "InvalidParameterCombination",
            "The request must contain a modification to the ipam pool",
        )
    if params.get("ClearAllocationDefaultNetmaskLength") and (
        "AllocationDefaultNetmaskLength" in params
    ):
        raise ApiError(
            "InvalidParameterCombination",
            "AllocationDefaultNetmaskLength cannot be set and cleared at once.",
        )
    require_usable(pool)
    default = (
        None
        if params.get("ClearAllocationDefaultNetmaskLength")
        else params.get(
            "AllocationDefaultNetmaskLength", pool.get("AllocationDefaultNetmaskLength")
        )
    )
    minimum = params.get("AllocationMinNetmaskLength", pool["AllocationMinNetmaskLength"])
    maximum = params.get("AllocationMaxNetmaskLength", pool["AllocationMaxNetmaskLength"])
    raise_first(rules.check_netmask_lengths(pool["AddressFamily"], minimum, maximum, default))
    added = params.get("AddAllocationResourceTags", [])
    raise_first(
        rules.check_tags(
            [(t.get("Key", ""), t.get("Value", "")) for t in added],
            field="AddAllocationResourceTags",
        )
    )

    pool["AllocationMinNetmaskLength"] = minimum
    pool["AllocationMaxNetmaskLength"] = maximum
    if default is None:
        pool.pop("AllocationDefaultNetmaskLength", None)
    else:
        pool["AllocationDefaultNetmaskLength"] = default
    for key in ("Description", "AutoImport"):
        if key in params:
            pool[key] = params[key]
    removed = {
        (t.get("Key"), t.get("Value")) for t in params.get("RemoveAllocationResourceTags", [])
    }
    kept = [t for t in pool["AllocationResourceTags"] if (t["Key"], t.get("Value")) not in removed]
    kept_keys = {t["Key"] for t in added}
    pool["AllocationResourceTags"] = [t for t in kept if t["Key"] not in kept_keys] + [
        {"Key": t["Key"], "Value": t.get("Value", "")} for t in added
    ]
    pool["State"] = MODIFIED_POOL_STATE
    ctx.store.touch("pool", pool["IpamPoolId"])
    return {"IpamPool": pool}


def children(ctx: Context, pool: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        p
        for p in ctx.store.all("pool")
        if p.get("SourceIpamPoolId") == pool["IpamPoolId"] and p["State"] not in DELETED
    ]


@operation("DeleteIpamPool")
def delete_ipam_pool(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    from ipamsim.operations.cidrs import live_cidrs, pool_allocations

    pool = ctx.find("pool", params["IpamPoolId"], include_deleted=False)
    if params.get("Cascade"):
        if pool["IpamScopeType"] == "public" and "SourceResource" not in pool:
            raise ApiError(
                "InvalidParameterCombination",
                "Cascade is allowed only for private-scope pools and pools with a source resource.",
            )
    else:
        if children(ctx, pool):
            raise ApiError(
                "IncorrectState",  # [choice] the code
                f"The pool {pool['IpamPoolId']} has child pools; delete them first or use Cascade.",
            )
        if live_cidrs(ctx, pool):
            raise ApiError(
                "IncorrectState",  # [choice] the code
                f"The pool {pool['IpamPoolId']} has provisioned CIDRs; deprovision "
                "them first or use Cascade.",
            )
        if pool_allocations(ctx, pool):
            raise ApiError(
                "IncorrectState",  # [choice] the code
                f"The pool {pool['IpamPoolId']} has allocations; release them first "
                "or use Cascade.",
            )
    delete_pool_tree(ctx, pool)
    return {"IpamPool": pool}


def delete_pool_tree(ctx: Context, pool: dict[str, Any]) -> None:
    """Delete a pool with its child pools, CIDRs and allocations."""
    from ipamsim.operations.cidrs import deprovision

    for child in children(ctx, pool):
        delete_pool_tree(ctx, child)
    for cidr in list(ctx.store.all("cidr")):
        if cidr["_pool"] == pool["IpamPoolId"] and cidr["State"] in (
            "pending-provision",
            "provisioned",
        ):
            deprovision(ctx, pool, cidr)
    for allocation in list(ctx.store.all("allocation")):
        if allocation["_pool"] == pool["IpamPoolId"]:
            ctx.store.remove("allocation", allocation["IpamPoolAllocationId"])
    ctx.schedule("pool", pool, "delete-in-progress", "delete-complete")
    pool.pop("_failure", None)
    ctx.store.touch("pool", pool["IpamPoolId"])
