"""The reservation ledger as the pools app reads it: blocks held by plans, by external
networks (on-premises, other clouds) and excluded ranges (:class:`pools.models.Reservation`).

No new pool, provisioned CIDR or allocation may take a block of the ledger, and the free-space
views show its blocks as reserved, with their holder, and never offer them. This is the app's
own rule, not AWS's (AWS knows nothing of the ledger), so its refusals carry the app's code
:data:`LEDGER_CODE` rather than one of :mod:`awsipam.catalog`. A plan's rows are written by the
planner; this module never needs to know what a plan is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from netaddr import IPNetwork

from awsipam import addressing
from awsipam.catalog import Violation
from pools.models import Reservation, by_address

LEDGER_CODE = "cidr_reserved"  # the app's rule: a block of the ledger belongs to its holder
KINDS = dict(Reservation.Kind.choices)


@dataclass(frozen=True)
class Reserved:
    """A block of the ledger, with who holds it."""

    cidr: IPNetwork
    kind: str
    name: str
    plan_id: int | None = None

    @property
    def holder(self) -> str:
        """Who holds the block, in words: a plan's rows name their plan already."""
        if self.kind == Reservation.Kind.PLAN:
            return self.name
        return f"{self.name} ({KINDS.get(self.kind, self.kind)})"

    @property
    def may_lie_in_a_pool(self) -> bool:
        """An external network or an excluded range may lie inside a pool (its children are
        placed around it); a plan's block is a pool to be, which no other pool may hold."""
        return self.kind != Reservation.Kind.PLAN


def held(
    ipam_ids: int | Iterable[int] | None = None,
    family: str | None = None,
    *,
    scope_ids: Iterable[int] = (),
) -> list[Reserved]:
    """The ledger of an IPAM (or of the IPAMs of ``scope_ids``), in address order: one query."""
    rows = Reservation.objects.all()
    if isinstance(ipam_ids, int):
        rows = rows.filter(ipam_id=ipam_ids)
    elif ipam_ids is not None:
        rows = rows.filter(ipam_id__in=list(ipam_ids))
    scope_ids = list(scope_ids)
    if scope_ids:
        rows = rows.filter(ipam__scopes__in=scope_ids).distinct()
    if family:
        rows = rows.filter(address_family=family)
    found = [
        Reserved(cidr, kind, name, plan_id)
        for cidr, kind, name, plan_id in rows.order_by().values_list(
            "cidr", "kind", "name", "plan_id"
        )
        if cidr is not None
    ]
    return by_address(found)


def clashes(
    ledger: Iterable[Reserved], network: IPNetwork, *, may_hold: bool = True
) -> list[Reserved]:
    """The blocks of ``ledger`` that ``network`` may not take. ``may_hold``: ``network`` is a
    pool's CIDR, which may hold an external network or an excluded range whole (as whole-plan
    validation judges a planned pool); an allocation may hold nothing of the ledger."""
    return [
        held
        for held in ledger
        if addressing.overlapping(network, [held.cidr])
        and not (may_hold and held.may_lie_in_a_pool and addressing.contains(network, held.cidr))
    ]


def violations(
    network: IPNetwork, ledger: Iterable[Reserved], *, field: str = "Cidr", may_hold: bool = True
) -> list[Violation]:
    """The ledger's refusal of ``network``, naming the holder (none if it is free of it)."""
    found = clashes(ledger, network, may_hold=may_hold)
    if not found:
        return []
    first = found[0]
    more = f" (and {len(found) - 1} more reserved blocks)" if len(found) > 1 else ""
    return [
        Violation(
            LEDGER_CODE,
            field,
            f"{network} overlaps {first.cidr}, reserved for {first.holder}{more}. "
            "A block in the reservation ledger belongs to its holder: choose another.",
        )
    ]


def holder_clash(
    ipam_id: int, network: IPNetwork, family: str, *, exclude: int | None = None
) -> ValidationError | None:
    """The refusal of ``network`` as a new block of the ledger: any overlap with another
    block (``exclude``: the primary key of the row being changed), a plan's included, is
    refused, naming the holder (one query)."""
    rows = Reservation.objects.filter(ipam_id=ipam_id, address_family=family)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    found = [
        Reserved(cidr, kind, name, plan_id)
        for cidr, kind, name, plan_id in rows.values_list("cidr", "kind", "name", "plan_id")
        if cidr is not None and addressing.overlapping(network, [cidr])
    ]
    if not found:
        return None
    first = by_address(found)[0]
    code = "overlaps_plan" if first.kind == Reservation.Kind.PLAN else "overlaps_reservation"
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return ValidationError(
        "%(cidr)s overlaps %(other)s, reserved for %(holder)s%(more)s.",
        code=code,
        params={"cidr": network, "other": first.cidr, "holder": first.holder, "more": more},
    )


def cidrs(ledger: Iterable[Reserved]) -> list[IPNetwork]:
    return [held.cidr for held in ledger]


def within(ledger: Iterable[Reserved], space: Sequence[IPNetwork]) -> list[Reserved]:
    """The blocks of ``ledger`` that meet ``space`` (a pool's CIDRs; none: none, and
    ``ledger`` is not even looked at, so a lazy one is never read)."""
    if not space:
        return []
    return [held for held in ledger if addressing.overlapping(held.cidr, space)]


def reserved_ranges(
    space: Sequence[IPNetwork], used: Sequence[IPNetwork], ledger: Iterable[Reserved]
) -> list[tuple[addressing.FreeRange, Reserved]]:
    """The parts of the free space (``space`` less ``used``) that the ledger holds, each with
    its block, in address order. Where blocks overlap (an external network inside a plan's
    block) the smaller one is shown, the larger around it."""
    found: list[tuple[addressing.FreeRange, Reserved]] = []
    taken = list(used)
    for held in sorted(within(ledger, space), key=lambda h: (h.cidr.size, h.cidr.first)):
        # CIDRs are aligned: two that overlap are one inside the other
        clipped = [held.cidr if addressing.contains(c, held.cidr) else c for c in space]
        clipped = [c for c in clipped if addressing.contains(held.cidr, c)]
        found += [(free, held) for free in addressing.free_ranges(clipped, taken)]
        taken.append(held.cidr)
    return sorted(found, key=lambda pair: (pair[0].version, pair[0].first))
