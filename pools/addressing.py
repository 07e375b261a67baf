"""CIDR arithmetic for IPAM pools: parsing with helpful errors, free space, lowest free block.

Pure functions over netaddr; shared by the forms, the planner and the local IPAM endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from netaddr import AddrFormatError, IPNetwork, IPSet

from pools.rules import INVALID_VALUE, Violation

FAMILY_VERSION = {"ipv4": 4, "ipv6": 6}


@dataclass(frozen=True)
class ParsedCidr:
    network: IPNetwork | None
    violation: Violation | None = None


def parse_cidr(text: str, address_family: str | None = None, *, field: str = "Cidr") -> ParsedCidr:
    """A CIDR exactly as AWS accepts it: a network address with a prefix, of the right family.

    A host address (``10.0.0.1/16``) is refused with the network it most likely meant.
    """
    text = (text or "").strip()
    try:
        prefix = text.partition("/")[2]
        if not (prefix.isascii() and prefix.isdigit()):  # netaddr would take " 8" and "+8"
            raise AddrFormatError(text)
        network = IPNetwork(text)
    except (AddrFormatError, ValueError, TypeError):
        return ParsedCidr(
            None,
            Violation(
                "cidr_invalid",
                field,
                f"'{text}' is not a CIDR; write an address and a prefix length, like 10.0.0.0/16.",
            ),
        )
    if address_family and network.version != FAMILY_VERSION[address_family]:
        return ParsedCidr(
            None,
            Violation(
                "cidr_wrong_family",
                field,
                f"{text} is not an {address_family} CIDR.",
            ),
        )
    if network.ip != network.network:
        suggestion = network.cidr
        return ParsedCidr(
            None,
            Violation(
                "cidr_host_bits_set",
                field,
                f"{text} has host bits set; did you mean {suggestion}?",
            ),
        )
    return ParsedCidr(network)


def overlapping(candidate: IPNetwork, others: Iterable[IPNetwork]) -> list[IPNetwork]:
    return [
        other
        for other in others
        if other.version == candidate.version
        and candidate.first <= other.last
        and other.first <= candidate.last
    ]


def contains(outer: IPNetwork, inner: IPNetwork) -> bool:
    return (
        outer.version == inner.version and outer.first <= inner.first and inner.last <= outer.last
    )


def free_space(space: Iterable[IPNetwork], used: Iterable[IPNetwork]) -> IPSet:
    return IPSet(space) - IPSet(used)


def free_blocks(space: Iterable[IPNetwork], used: Iterable[IPNetwork]) -> list[IPNetwork]:
    """The free space as the fewest aligned CIDRs, in address order."""
    return list(free_space(space, used).iter_cidrs())


def lowest_free_block(
    space: Iterable[IPNetwork],
    used: Iterable[IPNetwork],
    prefixlen: int,
    *,
    allowed: Iterable[IPNetwork] = (),
    disallowed: Iterable[IPNetwork] = (),
) -> IPNetwork | None:
    """The lowest free aligned block of ``prefixlen``, as AWS places allocations.

    Every aligned block inside a set lies inside one of the set's maximal aligned CIDRs, so the
    first of those (in address order) that is big enough holds the lowest block.
    """
    free = free_space(space, used) - IPSet(disallowed)
    allowed = list(allowed)
    if allowed:
        free &= IPSet(allowed)
    for block in free.iter_cidrs():
        if block.prefixlen <= prefixlen:
            return IPNetwork(f"{block.network}/{prefixlen}")
    return None


def check_in_free_space(
    network: IPNetwork,
    *,
    space: Iterable[IPNetwork],
    used: Iterable[IPNetwork],
    min_netmask: int,
    max_netmask: int,
    field: str = "Cidr",
    pool_label: str = "the source pool",
) -> Violation | None:
    """A CIDR taken from a pool: inside its provisioned space, free there, within its netmasks."""
    if not min_netmask <= network.prefixlen <= max_netmask:
        return Violation(
            "cidr_netmask_outside_pool_rules",
            field,
            f"{pool_label.capitalize()} allows netmask lengths /{min_netmask} to /{max_netmask}; "
            f"{network} is a /{network.prefixlen}.",
        )
    space = list(space)
    if not any(contains(outer, network) for outer in space):
        return Violation(
            "cidr_outside_pool_space",
            field,
            f"{network} is not inside a provisioned CIDR of {pool_label}.",
        )
    clashes = overlapping(network, used)
    if clashes:
        return Violation(
            "cidr_overlaps_allocation",
            field,
            f"{network} overlaps {clashes[0]}, which is already allocated in {pool_label}.",
            INVALID_VALUE,
        )
    return None
