"""The pool tree's nodes and the address map's blocks, written out in Python.

A node with a thousand children is one response of a thousand rows and the free blocks between
them; rendered through Django's template engine that costs a variable lookup, a localisation
and an escape per value (tens of thousands per response), so the rows are formatted here, with
every URL reversed once per response and the standard library's ``html.escape`` (what
Django's ``escape`` calls, without its lazy-string wrapper).
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from html import escape
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from awsipam.constants import MAX_POOL_DEPTH
from pools.addressmap import AddressMap
from pools.models import AddressFamily
from pools.tree import FreeBlock, Node, tree_url

register = template.Library()

FAMILIES = dict(AddressFamily.choices)
PLACEHOLDER = "__pool__"


def _percent(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


class TreeWriter:
    """Writes ``<li role="treeitem">`` rows for nodes and free blocks.

    ``open_ids`` is the set of pools open in the page's URL: a node's toggle link adds or
    removes it. With ``open_ids=None`` (a search, or everything expanded, which a URL cannot
    list) a toggle link opens the path down to the node instead.
    """

    def __init__(self, open_ids: Set[str] | None, can_create: bool) -> None:
        self.open_ids = open_ids
        self.can_create = can_create
        self.detail = reverse("pool_detail", args=[PLACEHOLDER]).partition(PLACEHOLDER)
        self.map = reverse("pool_map", args=[PLACEHOLDER]).partition(PLACEHOLDER)
        self.new = reverse("pool_new")
        self._sources: dict[str, str] = {}  # a free range's pool, quoted for its link

    def _url(self, parts: tuple[str, str, str], quoted_id: str) -> str:
        return escape(f"{parts[0]}{quoted_id}{parts[2]}")

    def _toggle(self, node: Node, path: tuple[str, ...]) -> str:
        pool_id = node.pool.pool_id
        if self.open_ids is None:
            ids = set(path) if node.expanded else {*path, pool_id}
        else:
            ids = self.open_ids ^ {pool_id}
        return escape(tree_url(ids))

    def write(self, items: Iterable[Node | FreeBlock], level: int, path: tuple[str, ...]) -> str:
        out: list[str] = []
        for item in items:
            if isinstance(item, FreeBlock):
                out.append(self._free(item, level))
            else:
                out.append(self._node(item, level, path))
        return "".join(out)

    def _free(self, block: FreeBlock, level: int) -> str:
        free = block.range
        first, last = escape(free.first_text), escape(free.last_text)
        whole = free.cidr
        size = escape(str(whole) if whole is not None else free.size_label)
        if block.kind == "reserved":
            return (
                f'<li role="treeitem" aria-level="{level}" class="free reserved" tabindex="-1" '
                f'data-range="{first}-{last}">'
                f'<div class="row"><span class="toggle-spacer"></span> '
                f'<span class="free-label"><code class="range">{first} - {last}</code> reserved '
                f'<span class="free-size">{size}</span></span> '
                f'<span class="holder">for {escape(block.holder)}</span></div></li>'
            )
        link = ""
        target = block.create_cidr if self.can_create else None
        if target is not None:
            parent = block.parent.pool_id
            if (source := self._sources.get(parent)) is None:
                source = self._sources[parent] = quote(parent, safe="")
            offer = str(target)
            href = f"{self.new}?source={source}&amp;cidr={offer.replace('/', '%2F')}"
            label = "create a child pool here"
            if whole is None or target.prefixlen != whole.prefixlen:
                label += f' <span class="muted">({escape(offer)})</span>'
            link = f'<a class="create-here" href="{href}">{label}</a>'
        return (
            f'<li role="treeitem" aria-level="{level}" class="free" tabindex="-1" '
            f'data-range="{first}-{last}">'
            f'<div class="row"><span class="toggle-spacer"></span> '
            f'<span class="free-label"><code class="range">{first} - {last}</code> free '
            f'<span class="free-size">{size}</span></span> {link}</div></li>'
        )

    def _node(self, node: Node, level: int, path: tuple[str, ...]) -> str:
        pool = node.pool
        pool_id = escape(pool.pool_id)
        label = escape(pool.name or pool.description or pool.pool_id)
        attrs = (
            f' aria-expanded="{"true" if node.expanded else "false"}"' if node.has_children else ""
        )
        if node.matched:
            attrs += ' class="matched"'
        if node.has_children:
            toggle = (
                f'<a class="toggle" href="{self._toggle(node, path)}" tabindex="-1" '
                f'aria-hidden="true"></a>'
            )
        else:
            toggle = '<span class="toggle-spacer"></span>'
        cidrs = escape(", ".join(str(c) for c in node.cidrs)) if node.cidrs else "no CIDR"
        percent = node.used_percent
        use = ""
        if percent is not None:
            shown = _percent(percent)
            use = (
                f'<meter min="0" max="100" value="{percent}" aria-hidden="true"></meter>'
                f'{shown}%<span class="visually-hidden"> allocated</span>'
            )
        count = node.child_count
        kids = f"{count} child{'' if count == 1 else 'ren'}"
        state = escape(pool.state)
        children = ""
        if node.expanded:
            children = self.write(node.children, level + 1, (*path, pool.pool_id))
        hidden = "" if node.expanded else " hidden"
        quoted = quote(pool.pool_id, safe="")
        detail = self._url(self.detail, quoted)
        family = FAMILIES.get(pool.address_family, escape(pool.address_family))
        note = ""
        if node.match_note:
            note = f' <span class="match-note">{escape(node.match_note)}</span>'
        row = " ".join(
            (
                toggle,
                f'<span class="depth" title="Depth {pool.depth} of {MAX_POOL_DEPTH}">'
                f'<span class="visually-hidden">depth </span>{pool.depth}'
                f"<small>/{MAX_POOL_DEPTH}</small></span>",
                f'<span class="label"><a class="name" href="{detail}">{label}</a></span>',
                f'<span class="pid"><code>{pool_id}</code><button type="button" class="copy" '
                f'data-copy="{pool_id}" aria-label="Copy {pool_id}" title="Copy the pool ID">'
                f"</button></span>",
                f'<span class="chip">{escape(pool.locale) or "no locale"}</span>',
                f'<span class="chip">{family}</span>',
                f'<span class="badge state-{state}">{state}</span>{note}',
                f'<code class="cidrs" title="{cidrs}">{cidrs}</code>',
                f'<span class="use">{use}</span>',
                f'<span class="kids">{kids}</span>',
                f'<a class="maplink" href="{self._url(self.map, quoted)}" '
                f'aria-label="Address map of {pool_id}">map</a>',
            )
        )
        return (
            f'<li role="treeitem" aria-level="{level}" id="node-{pool_id}" data-pool="{pool_id}" '
            f'tabindex="-1"{attrs}><div class="row">{row}</div>'
            f'<ul role="group"{hidden}>{children}</ul></li>'
        )


@register.simple_tag
def tree_items(
    items: Iterable[Node | FreeBlock],
    open_ids: Set[str] | None = None,
    can_create: bool = False,
    level: int = 1,
    path: Iterable[str] = (),
) -> SafeString:
    """Tree rows for ``items`` (nodes, with their open descendants, and free blocks)."""
    return mark_safe(TreeWriter(open_ids, can_create).write(items, level, tuple(path)))


@register.simple_tag
def address_map_blocks(space_map: AddressMap) -> SafeString:
    """The address map's row labels and blocks, as SVG elements."""
    out: list[str] = []
    for section in space_map.sections:
        cidr = escape(str(section.cidr))
        out.append(f'<text class="section" x="0" y="{section.y + 14:.1f}">{cidr}</text>')
        out.extend(
            f'<text class="rowlabel" x="0" y="{y:.1f}" dy="17">{escape(label)}</text>'
            for y, label in section.rows
        )
    height = space_map.row_height
    for rect in space_map.rects:
        block = rect.block
        title = escape(f"{block.network} · {block.label}")
        text = ""
        if rect.text:
            text = (
                f'<text x="{rect.x:.1f}" y="{rect.y:.1f}" dx="4" dy="17">{escape(rect.text)}</text>'
            )
        shape = (
            f'<title>{title}</title><rect x="{rect.x:.2f}" y="{rect.y:.1f}" '
            f'width="{rect.width:.2f}" height="{height}" rx="2"/>{text}'
        )
        if block.href:
            out.append(f'<a href="{escape(block.href)}" class="{block.kind}">{shape}</a>')
        else:
            out.append(f'<g class="{block.kind}">{shape}</g>')
    return mark_safe("\n".join(out))
