from __future__ import annotations

from collections.abc import Set

from django import template

from pools.tree import tree_url

register = template.Library()


@register.simple_tag
def tree_toggle_url(open_ids: Set[str], pool_id: str) -> str:
    """The tree's URL with ``pool_id`` opened, or closed if it is open: links work without JS."""
    ids = set(open_ids)
    ids.symmetric_difference_update({pool_id})
    return tree_url(ids)
