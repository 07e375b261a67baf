"""Compression: pages and htmx fragments are gzipped for a browser that accepts it (with
Django's random padding against BREACH), and sent as they are to one that does not."""

from __future__ import annotations

import gzip

import pytest
from django.test import Client
from django.urls import reverse

from tests.treedata import Tree, build_tree

pytestmark = pytest.mark.django_db

GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def wide(db) -> Tree:
    """A scope whose first top-level pool has 1,000 child pools."""
    return build_tree(1_010, roots=2, wide=1_000, label="gzip")


def fetch(client: Client, url: str, **headers: str) -> tuple[bytes, bytes]:
    """The bytes on the wire with gzip accepted, and the page they decompress to."""
    plain = client.get(url, **headers)
    compressed = client.get(url, **GZIP, **headers)
    assert plain.status_code == compressed.status_code == 200
    assert "Content-Encoding" not in plain
    assert compressed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in compressed["Vary"]
    return compressed.content, plain.content


def test_a_thousand_child_expand_is_gzipped(admin_client: Client, wide: Tree) -> None:
    assert wide.wide is not None
    url = reverse("tree_children", args=[wide.scope.scope_id, wide.wide.pool_id])

    wire, page = fetch(admin_client, url, **HX)

    assert gzip.decompress(wire) == page
    assert page.count(b'role="treeitem"') >= 1_000
    assert len(wire) < len(page) / 5


def test_the_scope_page_is_gzipped(admin_client: Client, wide: Tree) -> None:
    wire, page = fetch(admin_client, reverse("scope_detail", args=[wide.scope.scope_id]))

    # The same page but for its CSRF token, masked anew for each answer.
    assert len(gzip.decompress(wire)) == len(page)
    assert page.count(b'role="treeitem"') >= 2
    assert len(wire) < len(page) / 2


def test_each_answer_is_padded_differently_against_breach(admin_client: Client, demo) -> None:
    url = reverse("home")

    sizes = {len(admin_client.get(url, **GZIP).content) for _ in range(8)}

    assert len(sizes) > 1
