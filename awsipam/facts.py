"""What the rules need to know besides the request, as plain values.

The local endpoint fills these from its state, the app from its mirror of AWS; the rules see
no difference.
"""

from __future__ import annotations

from dataclasses import dataclass

from netaddr import IPNetwork

from awsipam import constants
from awsipam.choices import LIVE_CIDR_STATES, SPACE_CIDR_STATES


@dataclass(frozen=True)
class Quotas:
    """AWS's adjustable quotas; an account may have others (both sides take them from settings)."""

    ipams_per_region: int = constants.DEFAULT_IPAMS_PER_REGION
    scopes_per_ipam: int = constants.DEFAULT_SCOPES_PER_IPAM
    pools_per_scope: int = constants.DEFAULT_POOLS_PER_SCOPE
    cidrs_per_pool: int = constants.DEFAULT_CIDRS_PER_POOL


@dataclass(frozen=True)
class IpamFacts:
    ipam_id: str
    home_region: str
    operating_regions: tuple[str, ...]
    tier: str = "advanced"
    custom_scope_count: int = 0
    private_pool_count: int = 0
    public_pool_count: int = 0
    pool_locales: frozenset[str] = frozenset()  # the Regions live pools have as locale


@dataclass(frozen=True)
class ScopeFacts:
    scope_id: str
    scope_type: str
    operating_regions: tuple[str, ...]
    is_default: bool = False
    pool_count: int = 0  # pools not deleted
    # (pool id, CIDR) of the live CIDRs of the scope's top-level pools, which may not overlap;
    # needed only to provision a top-level pool.
    top_level_cidrs: tuple[tuple[str, IPNetwork], ...] = ()


@dataclass(frozen=True)
class AllocationFacts:
    allocation_id: str
    cidr: IPNetwork
    resource_type: str
    resource_id: str = ""


@dataclass(frozen=True)
class CidrFacts:
    cidr: IPNetwork | None
    state: str


@dataclass(frozen=True)
class PoolFacts:
    """A pool as the rules see it; ``cidrs`` and ``allocations`` only where a rule needs them."""

    pool_id: str
    scope_id: str
    scope_type: str
    address_family: str
    state: str
    depth: int
    locale: str | None = None
    min_netmask: int = 0
    max_netmask: int | None = None  # None: the family's limit
    default_netmask: int | None = None
    source_pool_id: str | None = None
    public_ip_source: str | None = None
    has_source_resource: bool = False
    child_count: int = 0
    cidrs: tuple[CidrFacts, ...] = ()
    allocations: tuple[AllocationFacts, ...] = ()

    @property
    def netmask_range(self) -> tuple[int, int]:
        limit = constants.NETMASK_LIMITS[self.address_family]
        return self.min_netmask, limit if self.max_netmask is None else self.max_netmask

    @property
    def space(self) -> list[IPNetwork]:
        """The provisioned CIDRs: what allocations and child pools are taken from."""
        return [c.cidr for c in self.cidrs if c.cidr is not None and c.state in SPACE_CIDR_STATES]

    @property
    def live_cidrs(self) -> list[CidrFacts]:
        """CIDRs provisioned or on their way to it (what counts against the quota)."""
        return [c for c in self.cidrs if c.state in LIVE_CIDR_STATES]

    @property
    def used(self) -> list[IPNetwork]:
        return [a.cidr for a in self.allocations]
