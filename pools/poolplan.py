"""What the creation form's plan panel shows: worked out from the form's values, no more."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from awsipam import addressing, rules
from awsipam.constants import MAX_POOL_DEPTH
from pools import ledger, selectors
from pools.models import IpamPool, IpamScope

FREE_BLOCKS_SHOWN = 8


@dataclass(frozen=True)
class Plan:
    """What the form has worked out about the pool it would create."""

    depth: int | None = None
    max_depth: int = MAX_POOL_DEPTH
    operating_regions: tuple[str, ...] = ()
    netmask_range: tuple[int, int] | None = None
    next_free_cidr: str = ""
    next_free_length: int | None = None
    free_blocks: tuple[str, ...] = ()
    reserved_blocks: tuple[tuple[str, str], ...] = ()  # (CIDR, holder) held in the ledger
    scope_type: str = ""
    source_locale: str = ""


def pool_plan(
    *,
    scope: IpamScope | None,
    family: str,
    source: IpamPool | None,
    min_netmask: int | None = None,
    max_netmask: int | None = None,
    wanted_length: int | None = None,
    reserved: Sequence[ledger.Reserved] | None = None,
) -> Plan:
    """The new pool's depth, locale and allocation range, and the source pool's free space
    with its lowest free block of ``wanted_length`` (or of a size that suits the source).

    The reservation ledger's blocks (``reserved``, or the IPAM's, one query) are never
    offered: they are left out of the free space and listed with their holder."""
    if scope is None:
        return Plan()
    plan = {
        "depth": selectors.new_pool_depth(source),
        "operating_regions": tuple(scope.ipam.operating_regions),
        "scope_type": scope.scope_type,
        "source_locale": source.locale if source else "",
        "netmask_range": None
        if rules.check_netmask_lengths(family, min_netmask, max_netmask, None)
        else rules.effective_netmask_range(family, min_netmask, max_netmask),
    }
    if source is None:
        return Plan(**plan)
    facts = selectors.pool_facts(source)
    space, used = facts.space, facts.used
    if reserved is None:
        reserved = ledger.held(source.ipam_id, family) if space else []
    held = ledger.within(reserved, space)
    used = [*used, *ledger.cidrs(held)]
    low, high = facts.netmask_range
    if wanted_length is None:  # nothing typed yet: suggest the source's default size
        natural = space[0].prefixlen + 1 if space else low
        default = facts.default_netmask
        wanted_length = default if default is not None else min(high, max(low, natural))
    suggestion = None
    if rules.allows_netmask(facts, wanted_length):
        suggestion = addressing.lowest_free_block(space, used, wanted_length)
    free = addressing.free_blocks(space, used)[:FREE_BLOCKS_SHOWN]
    return Plan(
        **plan,
        next_free_cidr=str(suggestion) if suggestion else "",
        next_free_length=wanted_length,
        free_blocks=tuple(str(b) for b in free),
        reserved_blocks=tuple((str(h.cidr), h.holder) for h in held[:FREE_BLOCKS_SHOWN]),
    )
