"""Reading the pool tree as a browser would: tree items, their rows' text and links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

from django.test import Client

HX = {"HTTP_HX_REQUEST": "true"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Item:
    """One ``role="treeitem"``: its attributes, the text and links of its row, its children."""

    attrs: dict[str, str]
    text: str = ""
    links: dict[str, str] = field(default_factory=dict)  # the link's class -> its href
    children: list[Item] = field(default_factory=list)
    group_hidden: bool | None = None

    @property
    def pool(self) -> str | None:
        return self.attrs.get("data-pool")

    @property
    def is_free(self) -> bool:
        return "free" in self.attrs.get("class", "").split()

    @property
    def range(self) -> str:
        """A free range's first and last address, ``10.0.2.0-10.3.255.255``."""
        return self.attrs.get("data-range", "") if self.is_free else ""

    def walk(self) -> Iterator[Item]:
        yield self
        for child in self.children:
            yield from child.walk()


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.roots: list[Item] = []
        self.tree_attrs: dict[str, str] | None = None
        self.stack: list[tuple[str, Item | None, bool]] = []  # (tag, item opened, row opened)
        self.items: list[Item] = []
        self.rows: list[Item] = []
        self.texts: list[list[str]] = []

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attr_list}
        if attrs.get("role") == "tree" and self.tree_attrs is None:
            self.tree_attrs = attrs
        item = None
        row = False
        if attrs.get("role") == "treeitem":
            item = Item(attrs)
            (self.items[-1].children if self.items else self.roots).append(item)
            self.items.append(item)
        elif tag == "div" and "row" in attrs.get("class", "").split() and self.items:
            row = True
            self.rows.append(self.items[-1])
            self.texts.append([])
        elif tag == "ul" and attrs.get("role") == "group" and self.items:
            self.items[-1].group_hidden = "hidden" in attrs
        if tag == "a" and self.rows and self.items and self.rows[-1] is self.items[-1]:
            self.rows[-1].links[attrs.get("class") or "a"] = attrs.get("href", "")
        if tag not in VOID:
            self.stack.append((tag, item, row))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            open_tag, item, row = self.stack.pop()
            if item is not None:
                self.items.pop()
            if row:
                owner = self.rows.pop()
                owner.text = re.sub(r"\s+", " ", "".join(self.texts.pop())).strip()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.rows and self.items and self.rows[-1] is self.items[-1]:
            self.texts[-1].append(data)


@dataclass
class Tree:
    roots: list[Item]
    attrs: dict[str, str] | None

    def items(self) -> list[Item]:
        return [item for root in self.roots for item in root.walk()]

    def pools(self) -> list[str]:
        return [item.pool for item in self.items() if item.pool]

    def item(self, pool_id: str) -> Item:
        for item in self.items():
            if item.pool == pool_id:
                return item
        raise AssertionError(f"{pool_id} is not in the tree")

    def free(self) -> list[Item]:
        return [item for item in self.items() if item.is_free]


def parse(html: str | bytes) -> Tree:
    parser = _Parser()
    parser.feed(html.decode() if isinstance(html, bytes) else html)
    parser.close()
    return Tree(parser.roots, parser.tree_attrs)


def get_tree(client: Client, url: str, **headers: str) -> Tree:
    response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    return parse(response.content)
