"""What a plan is checked against, as plain values: the live pools it touches, the scope,
the IPAM and the reservation ledger. :func:`planning.selectors.world` fills it from the mirror."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from netaddr import IPNetwork

from awsipam.facts import IpamFacts, PoolFacts, Quotas, ScopeFacts


@dataclass(frozen=True)
class LivePool:
    """A pool as it is in AWS (from the mirror), with what the diff compares."""

    facts: PoolFacts
    name: str = ""
    description: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    allocation_resource_tags: tuple[tuple[str, str], ...] = ()

    @property
    def pool_id(self) -> str:
        return self.facts.pool_id


@dataclass(frozen=True)
class Held:
    """A block in the reservation ledger: held by a plan, an external network or excluded."""

    cidr: IPNetwork
    kind: str  # "plan", "external" or "excluded"
    label: str
    plan_id: int | None = None


@dataclass(frozen=True)
class World:
    ipam: IpamFacts
    scope: ScopeFacts
    quotas: Quotas = field(default_factory=Quotas)
    pools: Mapping[str, LivePool] = field(default_factory=dict)  # bound pools and the parent pool
    top_level: tuple[tuple[str, IPNetwork], ...] = ()  # (pool id, CIDR) of top-level live pools
    held: tuple[Held, ...] = ()  # the ledger, without this plan's own blocks
    live_names: frozenset[str] = frozenset()  # live pools' names that nodes of the plan also use
    parent_pool_id: str = ""
