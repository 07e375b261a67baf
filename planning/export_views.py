"""Placeholder: each view answers 404 until it is built."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def plan_export(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_import(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_schema(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_upload(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404
