"""The app's pre-flight checks: AWS's rules (:mod:`awsipam.rules`) over what the mirror knows,
and the app's own rule of the reservation ledger (:func:`ledger_check`).

Each function takes the request the app is about to send, as boto3 takes it, and returns
every rule it breaks; nothing here calls AWS. The forms show the violations next to their
fields (:func:`pools.forms.add_violations`); :func:`check` serves callers that have only the
request (tests, scripts), and judges AWS's rules alone, as AWS would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from awsipam import addressing, rules
from awsipam.catalog import Violation
from pools import ledger, selectors
from pools.models import IpamPool, IpamScope

Request = Mapping[str, Any]


def create_pool(
    request: Request,
    *,
    scope: IpamScope,
    source: IpamPool | None,
    first_cidr: Request | None = None,
) -> tuple[list[Violation], list[Violation]]:
    """The CreateIpamPool's violations, and those of the ProvisionIpamPoolCidr of its first
    CIDR (``first_cidr``, judged as if the pool existed; none if not given)."""
    scope_facts = selectors.scope_facts(scope, with_top_level=bool(first_cidr) and not source)
    source_facts = selectors.pool_facts(source, with_space=bool(first_cidr)) if source else None
    quotas = selectors.quotas()
    created = rules.check_create_ipam_pool(
        request, scope=scope_facts, source=source_facts, quotas=quotas
    )
    if not first_cidr:
        return created, []
    pool = rules.new_pool_facts(request, scope=scope_facts, source=source_facts)
    provisioned = rules.check_provision_ipam_pool_cidr(
        first_cidr, pool=pool, source=source_facts, scope=scope_facts, quotas=quotas
    )
    return created, provisioned


def provision(
    request: Request, *, pool: IpamPool, source: IpamPool | None = None
) -> list[Violation]:
    """ProvisionIpamPoolCidr into ``pool`` (its source pool given, or looked up)."""
    source = source or pool.source_pool
    if source is None and pool.source_pool_aws_id:
        source = selectors.pool_with_space().filter(pool_id=pool.source_pool_aws_id).first()
        if source is None:  # not mirrored yet: judge what needs no facts, AWS the rest
            return rules.provision_syntax(request, pool.address_family)[1]
    return rules.check_provision_ipam_pool_cidr(
        request,
        pool=selectors.pool_facts(pool),
        source=selectors.pool_facts(source) if source else None,
        scope=selectors.scope_facts(pool.scope, with_top_level=source is None),
        quotas=selectors.quotas(),
    )


def allocate(request: Request, *, pool: IpamPool) -> list[Violation]:
    return rules.check_allocate_ipam_pool_cidr(request, pool=selectors.pool_facts(pool))


def release(request: Request, *, pool: IpamPool) -> list[Violation]:
    return rules.check_release_ipam_pool_allocation(request, pool=selectors.pool_facts(pool))


def deprovision(request: Request, *, pool: IpamPool) -> list[Violation]:
    return rules.check_deprovision_ipam_pool_cidr(request, pool=selectors.pool_facts(pool))


def modify(request: Request, *, pool: IpamPool) -> list[Violation]:
    return rules.check_modify_ipam_pool(request, pool=selectors.pool_facts(pool, with_space=False))


def delete(request: Request, *, pool: IpamPool) -> list[Violation]:
    facts = selectors.pool_facts(pool, with_children=True)
    return rules.check_delete_ipam_pool(request, pool=facts)


def create_tags(request: Request) -> list[Violation]:
    """CreateTags on mirrored pools (an id of a pool the mirror does not have: ``DoesNotExist``)."""
    if problems := rules.check_tag_resources(request):
        return problems
    pools = [IpamPool.objects.live().get(pool_id=i) for i in request.get("Resources") or []]
    return rules.check_create_tags(request, current={p.pool_id: p.tags for p in pools})


def delete_tags(request: Request) -> list[Violation]:
    if problems := rules.check_tag_resources(request):
        return problems
    for pool_id in request.get("Resources") or []:
        IpamPool.objects.live().get(pool_id=pool_id)
    return rules.check_delete_tags(request)


def ledger_check(
    request: Request,
    *,
    address_family: str,
    reserved: Sequence[ledger.Reserved],
    source: IpamPool | None = None,
    allocation: bool = False,
    field: str = "Cidr",
) -> list[Violation]:
    """The reservation ledger's refusal of the block a ProvisionIpamPoolCidr (or, with
    ``allocation``, an AllocateIpamPoolCidr) would take: its ``Cidr``, or the block AWS would
    pick for its ``NetmaskLength`` (the lowest free one of ``source``, or of the pool
    allocated from), with a free, unreserved block to give instead. The app's rule
    (:data:`pools.ledger.LEDGER_CODE`), not AWS's: AWS would accept the request."""
    if request.get("Cidr"):
        network = addressing.parse_cidr(str(request["Cidr"]), address_family).network
        if network is None:  # AWS's rules say why
            return []
        return ledger.violations(network, reserved, field=field, may_hold=not allocation)
    if source is None:
        return []
    length = request.get("NetmaskLength")
    if not allocation and not isinstance(length, int):
        return []
    facts = selectors.pool_facts(source)
    held = ledger.within(reserved, facts.space)
    if allocation:  # the pool's default length if none is given; its allowed, disallowed
        block = rules.next_allocation_cidr(request, pool=facts)
        around = [*(request.get("DisallowedCidrs") or ()), *(str(c) for c in ledger.cidrs(held))]
        instead = rules.next_allocation_cidr({**request, "DisallowedCidrs": around}, pool=facts)
    else:
        block = addressing.lowest_free_block(facts.space, facts.used, length)
        taken = [*facts.used, *ledger.cidrs(held)]
        instead = addressing.lowest_free_block(facts.space, taken, length)
    if block is None:
        return []
    found = ledger.clashes(held, block, may_hold=not allocation)
    if not found:
        return []
    hint = (
        f"Give a CIDR instead: {instead} is free and not reserved."
        if instead is not None
        else f"No free /{block.prefixlen} outside the reserved blocks is left."
    )
    return [
        Violation(
            ledger.LEDGER_CODE,
            "NetmaskLength",
            f"AWS would take {block}, the lowest free /{block.prefixlen}, which overlaps "
            f"{found[0].cidr}, reserved for {found[0].holder}. {hint}",
        )
    ]


_TAGGING = {"CreateTags": create_tags, "DeleteTags": delete_tags}
_BY_POOL = {
    "ProvisionIpamPoolCidr": provision,
    "AllocateIpamPoolCidr": allocate,
    "ReleaseIpamPoolAllocation": release,
    "DeprovisionIpamPoolCidr": deprovision,
    "ModifyIpamPool": modify,
    "DeleteIpamPool": delete,
}
ACTIONS = frozenset({"CreateIpamPool", *_BY_POOL, *_TAGGING})


def check(action: str, request: Request) -> list[Violation]:
    """The violations of ``request`` for ``action``, looking its scope or pool up by id.

    Raises ``DoesNotExist`` for an id the mirror does not have (AWS's ``...NotFound``).
    """
    if action == "CreateIpamPool":
        scope = selectors.live_scopes().get(scope_id=request["IpamScopeId"])
        source = None
        if "SourceIpamPoolId" in request:
            source = selectors.pool_with_space().live().get(pool_id=request["SourceIpamPoolId"])
        return create_pool(request, scope=scope, source=source)[0]
    if action in _TAGGING:
        return _TAGGING[action](request)
    pool = selectors.pool_with_space().live().get(pool_id=request["IpamPoolId"])
    return _BY_POOL[action](request, pool=pool)
