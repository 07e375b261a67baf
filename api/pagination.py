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
PAGE_SIZE_INVALID = f"A page size is a whole number from 1 to {MAX_PAGE_SIZE}."
POSITION = re.compile(r"[0-9]{1,18}")  # a row's id: a small decimal number, nothing else


def _invalid(field: str, code: str, detail: str) -> problems.Problem:
    return problems.Problem(
        "invalid-request",
        detail,
        status_code=status.HTTP_400_BAD_REQUEST,
        errors=[problems.error(field, code, detail)],
    )


def invalid_cursor(field: str = "cursor") -> problems.Problem:
    return _invalid(
        field, "cursor_invalid", "This page link is broken: start again from the first page."
    )


def page_size_of(text: str | None, default: int, field: str = "page_size") -> int:
    """``page_size`` as asked (a 400 problem if it is no size), or the default."""
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 4):
        raise _invalid(field, "page_size_invalid", PAGE_SIZE_INVALID)
    if not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise _invalid(field, "page_size_invalid", PAGE_SIZE_INVALID)
    return int(text)


class Cursor(CursorPagination):
    """Pages in the order of the rows' ids (unique and never changed: a stable order), the
    next and previous pages as links. ``page_size`` asks for up to 1,000 rows."""

    ordering = "id"
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Any) -> int:
        return page_size_of(request.query_params.get(self.page_size_query_param), self.page_size)

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

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
        return parameters
