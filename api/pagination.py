"""Cursor pagination: pages that stay right while rows are added, at a constant cost."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.pagination import CursorPagination

from api import problems

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
PAGE_SIZE_INVALID = f"A page size is a whole number from 1 to {MAX_PAGE_SIZE}."


def page_size_of(text: str | None, default: int) -> int:
    """``page_size`` as asked (a 400 problem if it is no size), or the default."""
    if text is None:
        return default
    if not (
        text.isascii() and text.isdigit() and len(text) <= 4 and 1 <= int(text) <= MAX_PAGE_SIZE
    ):
        raise problems.Problem(
            "invalid-request",
            PAGE_SIZE_INVALID,
            status_code=status.HTTP_400_BAD_REQUEST,
            errors=[problems.error("page_size", "page_size_invalid", PAGE_SIZE_INVALID)],
        )
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

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
        return parameters
