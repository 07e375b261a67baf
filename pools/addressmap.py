"""An address map: a pool's CIDRs drawn to scale, with what is allocated in them and what is free.

Each provisioned CIDR is cut into rows of equal size (a power of two, so rows start on CIDR
boundaries), enough rows that the smallest block is still wide enough to see and click (up to
:data:`MAX_ROWS`; past that a block is drawn :data:`MIN_VISIBLE_PX` wide at least).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from netaddr import IPAddress, IPNetwork, IPRange

from awsipam import addressing

WIDTH = 850  # with the row labels, the width of a card: no scrolling sideways
ROW_HEIGHT = 26
ROW_GAP = 4
LABEL_WIDTH = 150
MIN_BLOCK_PX = 64  # wide enough for a label such as a /24
CHAR_PX = 6.8
MAX_ROWS = 64
HEADER_HEIGHT = 22
MIN_VISIBLE_PX = 3.0  # a block too small for its scale is still drawn, this wide


@dataclass(frozen=True)
class Block:
    network: IPNetwork | IPRange  # a free range need not be one CIDR
    kind: str  # "pool", "allocation", "free" or "reserved" (held in the ledger)
    label: str
    href: str


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    block: Block
    text: str  # what fits inside: the label, else the CIDR, else nothing (and nothing on the
    # rows a block continues on)


@dataclass
class Section:
    cidr: IPNetwork
    y: float
    rows: list[tuple[float, str]] = field(default_factory=list)  # (y, first address of row)


@dataclass
class AddressMap:
    sections: list[Section]
    rects: list[Rect]
    height: float
    width: int = WIDTH + LABEL_WIDTH
    label_width: int = LABEL_WIDTH
    row_height: int = ROW_HEIGHT


def _row_count(cidr: IPNetwork, smallest: int) -> int:
    wanted = MIN_BLOCK_PX * cidr.size / (smallest * WIDTH)
    rows = 1 if wanted <= 1 else 2 ** math.ceil(math.log2(wanted))
    return int(min(rows, MAX_ROWS, cidr.size))


def _fitting_text(block: Block, width: float) -> str:
    for text in (f"{block.label} {block.network}", block.label, str(block.network)):
        if (len(text) + 1) * CHAR_PX <= width:
            return text
    return ""


def layout(space: list[IPNetwork], blocks: list[Block]) -> AddressMap:
    """Place ``blocks`` (each inside one CIDR of ``space``) on rows, to scale."""
    sections, rects, y = [], [], 0.0
    for cidr in sorted(space, key=lambda c: (c.version, c.first)):
        inside = [b for b in blocks if addressing.contains(cidr, b.network)]
        smallest = min((b.network.size for b in inside), default=cidr.size)
        rows = _row_count(cidr, smallest)
        row_size = cidr.size // rows
        section = Section(cidr, y)
        y += HEADER_HEIGHT
        row_prefix = cidr.prefixlen + int(math.log2(rows))
        for row in range(rows):
            start = IPAddress(cidr.first + row * row_size, cidr.version)
            section.rows.append((y + row * (ROW_HEIGHT + ROW_GAP), f"{start}/{row_prefix}"))
        for block in inside:
            first, last = block.network.first, block.network.last
            top = (first - cidr.first) // row_size
            for row in range(top, (last - cidr.first) // row_size + 1):
                row_start = cidr.first + row * row_size
                left = max(first, row_start) - row_start
                right = min(last, row_start + row_size - 1) - row_start + 1
                x = LABEL_WIDTH + WIDTH * left / row_size
                width = max(WIDTH * (right - left) / row_size, MIN_VISIBLE_PX)
                x = min(x, LABEL_WIDTH + WIDTH - width)
                rects.append(
                    Rect(
                        x,
                        y + row * (ROW_HEIGHT + ROW_GAP),
                        width,
                        block,
                        _fitting_text(block, width) if row == top else "",
                    )
                )
        sections.append(section)
        y += rows * (ROW_HEIGHT + ROW_GAP) + 2 * ROW_GAP
    return AddressMap(sections, rects, max(y, ROW_HEIGHT))
