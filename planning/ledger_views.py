"""Placeholder: each view answers 404 until it is built."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def ledger(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def reservation_delete(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404
