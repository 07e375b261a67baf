"""Placeholder: each view answers 404 until it is built."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def ledger(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def node_add(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def node_delete(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def node_edit(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def node_move(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_clone(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_delete(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_detail(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_diff(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_export(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_import(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_new(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_repack(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_schema(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_settings(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_upload(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_validate(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def plan_wizard(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


def reservation_delete(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404
