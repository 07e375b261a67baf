"""Cursor pagination: pages that stay right while rows are added, at a constant cost."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class Cursor(CursorPagination):
    """Pages in the order of the rows' ids (unique and never changed: a stable order), the
    next and previous pages as links. ``page_size`` asks for up to 1,000 rows."""

    ordering = "id"
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
