"""CIDR arithmetic for IPAM pools: parsing with helpful errors, free space (as aligned blocks
and as ranges), lowest free block.

Pure functions over netaddr; shared by the rules, the app and the local IPAM endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from netaddr import AddrFormatError, IPAddress, IPNetwork, IPRange, IPSet

from awsipam.catalog import Violation, violation
from awsipam.constants import FAMILY_VERSION, NETMASK_LIMITS


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
            violation(
                "cidr_invalid",
                field,
                f"'{text}' is not a CIDR; write an address and a prefix length, like 10.0.0.0/16.",
            ),
        )
    if address_family and network.version != FAMILY_VERSION[address_family]:
        return ParsedCidr(
            None,
            violation(
                "cidr_wrong_family",
                field,
                f"{text} is not an {address_family} CIDR.",
            ),
        )
    if network.ip != network.network:
        suggestion = network.cidr
        return ParsedCidr(
            None,
            violation(
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
    """The free space as the fewest aligned CIDRs, in address order (IPv4 first).

    What ``free_space(space, used).iter_cidrs()`` gives, computed on integer ranges: a pool
    with a thousand allocations is answered in a millisecond or two.
    """
    space, used = list(space), list(used)
    blocks: list[IPNetwork] = []
    for family, version in FAMILY_VERSION.items():
        bits = NETMASK_LIMITS[family]
        spans = _merged([(n.first, n.last) for n in space if n.version == version])
        if not spans:
            continue
        taken = _merged([(n.first, n.last) for n in used if n.version == version])
        for first, last in _subtract(spans, taken):
            blocks += _aligned(first, last, version, bits)
    return blocks


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted ranges with overlapping and touching ones joined."""
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def _subtract(
    spans: list[tuple[int, int]], taken: list[tuple[int, int]]
) -> Iterable[tuple[int, int]]:
    """The parts of ``spans`` outside ``taken`` (both merged and sorted)."""
    index = 0
    for first, last in spans:
        while index < len(taken) and taken[index][1] < first:
            index += 1
        start, cursor = first, index
        while cursor < len(taken) and taken[cursor][0] <= last:
            if taken[cursor][0] > start:
                yield start, taken[cursor][0] - 1
            start = max(start, taken[cursor][1] + 1)
            cursor += 1
        if start <= last:
            yield start, last


def _aligned(first: int, last: int, version: int, bits: int) -> list[IPNetwork]:
    """The fewest aligned CIDRs covering ``first`` to ``last``, in order."""
    blocks = []
    while first <= last:
        size = first & -first if first else 1 << bits
        while size > last - first + 1:
            size >>= 1
        blocks.append(IPNetwork((first, bits - size.bit_length() + 1), version=version))
        first += size
    return blocks


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
        return violation(
            "cidr_netmask_outside_pool_rules",
            field,
            f"{pool_label.capitalize()} allows netmask lengths /{min_netmask} to /{max_netmask}; "
            f"{network} is a /{network.prefixlen}.",
        )
    space = list(space)
    if not any(contains(outer, network) for outer in space):
        return violation(
            "cidr_outside_pool_space",
            field,
            f"{network} is not inside a provisioned CIDR of {pool_label}.",
        )
    clashes = overlapping(network, used)
    if clashes:
        return violation(
            "cidr_overlaps_allocation",
            field,
            f"{network} overlaps {clashes[0]}, which is already allocated in {pool_label}.",
        )
    return None


def child_block(free: IPNetwork, min_netmask: int, max_netmask: int) -> IPNetwork | None:
    """The block a child pool would take at the start of ``free``.

    AWS takes a child's CIDR from its source pool within the source's allocation netmask
    lengths: a free block wider than the minimum offers its first block of the minimum length;
    one narrower than the maximum cannot hold a child.
    """
    if free.prefixlen > max_netmask:
        return None
    if free.prefixlen >= min_netmask:
        return free
    return IPNetwork((free.first, min_netmask), version=free.version)


# --- free ranges: the free space as an engineer reads it ------------------------------------

TIMES = "\N{MULTIPLICATION SIGN}"
RANGE_COUNT_LIMIT = 65_536  # "N x /L" up to this N; past it, an address count and the largest block


@dataclass(frozen=True)
class FreeRange:
    """A maximal run of free addresses inside one provisioned CIDR, between its allocations.

    Computed on integers and cached: a tree row of a pool with a thousand children asks each
    of its thousand ranges for its addresses, size and offer.
    """

    first: int
    last: int
    version: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    @property
    def bits(self) -> int:
        return 32 if self.version == 4 else 128

    @cached_property
    def first_text(self) -> str:
        return address_text(self.first, self.version)

    @cached_property
    def last_text(self) -> str:
        return address_text(self.last, self.version)

    @property
    def span(self) -> IPRange:
        return IPRange(IPAddress(self.first, self.version), IPAddress(self.last, self.version))

    @property
    def blocks(self) -> list[IPNetwork]:
        """The fewest aligned CIDRs covering the range, in address order."""
        return _aligned(self.first, self.last, self.version, self.bits)

    @cached_property
    def largest_block(self) -> IPNetwork:
        """The largest aligned CIDR inside the range (the lowest of equals, as AWS picks)."""
        best_first, best_size = self.first, 0
        first, last = self.first, self.last
        while first <= last:  # the aligned blocks of the range, as :func:`_aligned` finds them
            size = first & -first if first else 1 << self.bits
            while size > last - first + 1:
                size >>= 1
            if size > best_size:
                best_first, best_size = first, size
            first += size
        return IPNetwork((best_first, self.bits - best_size.bit_length() + 1), version=self.version)

    @property
    def cidr(self) -> IPNetwork | None:
        """The range as one CIDR, when it is exactly one aligned block."""
        size = self.size
        if size & (size - 1) == 0 and self.first % size == 0:
            return self.largest_block
        return None

    @cached_property
    def size_label(self) -> str:
        """``253 x /24`` (with a multiplication sign): a count of the largest block that divides
        the range's size evenly; or, past :data:`RANGE_COUNT_LIMIT` such blocks, an address
        count and the largest block (``16,777,214 addresses, largest /9``)."""
        zeros = (self.size & -self.size).bit_length() - 1
        count = self.size >> zeros
        if count <= RANGE_COUNT_LIMIT:
            return f"{count:,} {TIMES} /{self.bits - zeros}"
        return f"{self.size:,} addresses, largest /{self.largest_block.prefixlen}"

    def __str__(self) -> str:
        return f"{self.first_text} - {self.last_text}"


def address_text(value: int, version: int) -> str:
    """An address as netaddr writes it (IPv4 without building an object: a tree row of a pool
    with a thousand children writes two thousand)."""
    if version == 4:
        return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"
    return str(IPAddress(value, 6))


def free_ranges(space: Iterable[IPNetwork], used: Iterable[IPNetwork]) -> list[FreeRange]:
    """The free space of each provisioned CIDR in ``space`` as maximal ranges between the
    ``used`` blocks, in address order (IPv4 first). Ranges never cross from one provisioned
    CIDR into another: a CIDR taken from a pool lies inside one of its CIDRs."""
    used = list(used)
    ranges: list[FreeRange] = []
    for version in FAMILY_VERSION.values():
        taken = _merged([(n.first, n.last) for n in used if n.version == version])
        spans = sorted({(n.first, n.last) for n in space if n.version == version})
        ranges += [FreeRange(first, last, version) for first, last in _subtract(spans, taken)]
    return ranges


def range_offer(free: FreeRange, min_netmask: int, max_netmask: int) -> IPNetwork | None:
    """The block "create a child pool here" offers in ``free``: its largest aligned block, cut
    to the source pool's allocation netmask lengths (:func:`child_block`); None when not even
    the largest block is as long as the source's maximum allows."""
    return child_block(free.largest_block, min_netmask, max_netmask)
