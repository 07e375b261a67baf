from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from pools import selectors


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "pools/home.html", {"ipams": selectors.ipams_with_scopes()})


@login_not_required
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and `make run`."""
    try:
        connection.ensure_connection()
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})
