"""Placeholder: each view answers 404 until it is built."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def plan_clone(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_new(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_wizard(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404
