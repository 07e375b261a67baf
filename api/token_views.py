"""The profile page's API tokens: every logged-in user lists, makes and revokes their own.

A new token is shown in the answer to the POST that made it, and never again: it is not put in
the session or in a message (both are stored), and the page that shows it is not cached.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from api.models import ApiToken
from api.token_forms import TokenForm

TEMPLATE = "api/tokens.html"


def _page(request: HttpRequest, form: TokenForm, **shown: Any) -> HttpResponse:
    """The page, or for htmx just its tokens part (the form, the new token, the list)."""
    context = {
        "form": form,
        "tokens": ApiToken.objects.filter(user=request.user),
        "api_url": request.build_absolute_uri(reverse("api:pool-list")),
        **shown,
    }
    template = f"{TEMPLATE}#tokens" if request.htmx else TEMPLATE
    return render(request, template, context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, TokenForm())
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form)
    row, token = form.issue(request.user)
    return _page(request, TokenForm(), issued=row, token=token)


@never_cache
@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of the user's own tokens (another user's is not found)."""
    row = get_object_or_404(ApiToken, pk=pk, user=request.user)
    row.delete()
    if request.htmx:
        return _page(request, TokenForm(), revoked=row)
    messages.success(request, f"Revoked the token {row}.")
    return redirect("profile_tokens")


urlpatterns: list[URLPattern] = [
    path("tokens/", tokens, name="profile_tokens"),
    path("tokens/<int:pk>/revoke/", token_revoke, name="profile_token_revoke"),
]
