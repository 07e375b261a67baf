"""Cursor pagination: pages that stay right while rows are added, at a constant cost."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import exceptions, status
from rest_framework.pagination import Cursor as PageCursor
from rest_framework.pagination import CursorPagination

from api import problems

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
POSITION = re.compile(r"[0-9]{1,18}")  # a row's id: a small decimal number, nothing else


def invalid_cursor(field: str = "cursor") -> problems.Problem:
    detail = "This page link is broken: start again from the first page."
    return problems.Problem(
        "invalid-request",
        detail,
        status_code=status.HTTP_400_BAD_REQUEST,
        errors=[problems.error(field, "cursor_invalid", detail)],
    )


class Cursor(CursorPagination):
    """Pages in the order of the rows' ids (unique and never changed: a stable order), the
    next and previous pages as links. ``page_size`` asks for up to 1,000 rows."""

    ordering = "id"
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def decode_cursor(self, request: Any) -> PageCursor | None:
        """The cursor of the link, or a 400 on ``cursor`` for one no page of ours made: its
        position goes into a query on ``id``, where text that is no number is a server error
        (and a NUL byte one on PostgreSQL)."""
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise invalid_cursor(self.cursor_query_param) from exc
        position = cursor.position if cursor is not None else None
        if position is not None and not POSITION.fullmatch(position):
            raise invalid_cursor(self.cursor_query_param)
        return cursor
