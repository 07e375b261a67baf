"""A 404 under ``/api/`` is problem details too; elsewhere, the site's own page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from api import problems
from api.auth import API_PATH


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path_info.startswith(API_PATH):
        return problems.plain_response(
            request, "not-found", 404, "not_found", "Nothing is at this address."
        )
    return defaults.page_not_found(request, exception)
