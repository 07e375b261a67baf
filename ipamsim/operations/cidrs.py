"""ProvisionIpamPoolCidr, GetIpamPoolCidrs, DeprovisionIpamPoolCidr."""

from __future__ import annotations

from typing import Any

from awsipam import addressing, rules
from awsipam.choices import FAILED_CIDR_STATES, AllocationResourceType, CidrState
from ipamsim import listing, state
from ipamsim.context import Context, operation

INJECTED_FAILURE_CODE = "cidr-not-available"

CIDR_FILTERS = {"cidr": listing.member("Cidr"), "state": listing.member("State")}


@operation("ProvisionIpamPoolCidr")
def provision_ipam_pool_cidr(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pool = ctx.find("pool", params["IpamPoolId"], include_deleted=False)
    facts = state.pool_facts(ctx, pool)
    ctx.refuse(rules.provision_syntax(params, facts.address_family)[1])
    token = params.get("ClientToken")
    existing = ctx.replay(token, params)
    if existing:
        return {"IpamPoolCidr": ctx.store.get("cidr", existing)}
    source = ctx.store.get("pool", facts.source_pool_id) if facts.source_pool_id else None
    source_facts = state.pool_facts(ctx, source) if source else None
    scope = state.scope_facts(ctx, ctx.store.get("scope", pool["_scope"]), with_top_level=True)
    later = ctx.refuse(
        rules.check_provision_ipam_pool_cidr(
            params, pool=facts, source=source_facts, scope=scope, quotas=ctx.sim.config.quotas
        )
    )
    if "Cidr" in params:
        network = addressing.parse_cidr(params["Cidr"], facts.address_family).network
    elif not later:
        network = rules.next_provision_cidr(params, pool=facts, source=source_facts, scope=scope)
    cidr_id = ctx.sim.new_id("ipam-pool-cidr-", 32)
    record: dict[str, Any] = {
        "IpamPoolCidrId": cidr_id,
        "NetmaskLength": params.get("NetmaskLength") if later else network.prefixlen,
        "_pool": pool["IpamPoolId"],
        "_region": ctx.region,
    }
    delay = ctx.sim.config.provision_seconds
    if later:
        record["_failure_reason"] = state.failure_reason(later[0])
        ctx.schedule("cidr", record, CidrState.PENDING_PROVISION, later[0].aws_code, delay)
    else:
        record["Cidr"] = str(network)
        injected = ctx.sim.take_provision_failure()
        if injected is None:
            ctx.schedule("cidr", record, CidrState.PENDING_PROVISION, CidrState.PROVISIONED, delay)
        else:
            # [model] an injected failure (the fail_next_provisions fault) ends as AWS's own
            # do: failed-provision with FailureReason {Code: cidr-not-available, Message}.
            # The CIDR holds its block while pending; Context.settle gives the source pool's
            # allocation back when it fails, so no failed CIDR keeps one.
            record["_failure_reason"] = {"Code": INJECTED_FAILURE_CODE, "Message": injected}
            ctx.schedule(
                "cidr", record, CidrState.PENDING_PROVISION, CidrState.FAILED_PROVISION, delay
            )
        if source is not None:
            record["_allocation"] = state.add_allocation(
                ctx,
                source,
                network,
                resource_type=AllocationResourceType.IPAM_POOL,
                resource_id=pool["IpamPoolId"],
            )["IpamPoolAllocationId"]
    ctx.store.add("cidr", cidr_id, record)
    ctx.remember(token, params, cidr_id)
    return {"IpamPoolCidr": record}


@operation("GetIpamPoolCidrs")
def get_ipam_pool_cidrs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pool = ctx.find("pool", params["IpamPoolId"])
    filters = listing.compile_filters(params.get("Filters"), CIDR_FILTERS)
    items = (c for c in state.pool_cidrs(ctx, pool) if listing.matches(c, filters))
    found, token = listing.page(items, params.get("MaxResults"), params.get("NextToken"))
    return {"IpamPoolCidrs": [_with_failure(c) for c in found], "NextToken": token}


def _with_failure(cidr: dict[str, Any]) -> dict[str, Any]:
    if cidr["State"] in FAILED_CIDR_STATES:
        return cidr | {"FailureReason": cidr["_failure_reason"]}
    return cidr


@operation("DeprovisionIpamPoolCidr")
def deprovision_ipam_pool_cidr(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pool = ctx.find("pool", params["IpamPoolId"], include_deleted=False)
    later = ctx.refuse(
        rules.check_deprovision_ipam_pool_cidr(params, pool=state.pool_facts(ctx, pool))
    )
    wanted = str(addressing.parse_cidr(params["Cidr"]).network)  # "FD00::/8" names fd00::/8
    cidr = next(c for c in state.live_cidrs(ctx, pool) if c.get("Cidr") == wanted)
    return {"IpamPoolCidr": state.deprovision(ctx, cidr, failure=later[0] if later else None)}
