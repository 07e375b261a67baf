"""Login for every page, as Django's ``LoginRequiredMiddleware`` does it; no NUL in a query; the
request's user on what it changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse

from api import problems
from api.auth import API_PATH
from ipamui.proxy import client_ip
from pools import changelog

NUL_REFUSED = "A parameter of this address contains a NUL character, which no value can hold."


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Django's, except that the admin's pages send to the admin's own login page."""

    def get_login_url(self, view_func: Any) -> str:
        # The admin marks the views it wraps with their site or model admin.
        if hasattr(view_func, "admin_site") or hasattr(view_func, "model_admin"):
            return reverse("admin:login")
        return super().get_login_url(view_func)


class RefuseNulInQueryMiddleware:
    """A query string with a NUL character is refused with 400, before any view reads it.

    No database column can hold NUL (PostgreSQL refuses it; SQLite silently matches nothing),
    and no AWS value has one. Forms refuse NUL in their fields themselves, next to the field,
    with the input kept; this covers the parameters read outside forms (filters, searches,
    the admin's changelists).
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any("\x00" in "".join([key, *values]) for key, values in request.GET.lists()):
            if request.path_info.startswith(API_PATH):
                return problems.plain_response(request, "invalid-request", 400, "nul", NUL_REFUSED)
            return HttpResponseBadRequest(
                NUL_REFUSED,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


class ChangeActorMiddleware:
    """The request's logged-in user, and the client's address, go on what it changes in the
    change log (:func:`pools.changelog.acting`).

    Not django-auditlog's own middleware: that one leaves its actor set after the request, so
    work done later in the same thread (a task run in process, a test) would be put on that
    user.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with changelog.acting(getattr(request, "user", None), client_ip(request)):
            return self.get_response(request)
