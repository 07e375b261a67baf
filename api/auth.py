"""Who calls the API: a bearer token (scripts), or the browser's session (with CSRF).

The token is read by :class:`ApiTokenMiddleware`, before the middleware that puts the request's
user on the change log, so that a change made with a token is put on its user; the API's views
then take that user through :class:`TokenAuthentication`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from api.models import ApiToken

API_PATH = "/api/"
SCHEMES = ("bearer", "token")


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer …`` (or ``Token …``) header, or None."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in SCHEMES:
        return None
    return token.strip()


class ApiTokenMiddleware:
    """A request to the API with a token acts as the token's user (no session, no login)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PATH):
            token = bearer_token(request)
            if token is not None:
                found = ApiToken.find(token)
                request.api_token = found  # type: ignore[attr-defined]
                if found is not None:
                    request.user = found.user
        return self.get_response(request)


class TokenAuthentication(authentication.BaseAuthentication):
    """The token :class:`ApiTokenMiddleware` found; a token that is no token is refused."""

    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        raw = request._request
        if not hasattr(raw, "api_token"):
            return None
        if raw.api_token is None:
            raise exceptions.AuthenticationFailed(
                "This API token is unknown, revoked or expired.", code="token_invalid"
            )
        return raw.user, raw.api_token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="ipamui"'


class TokenScheme(OpenApiAuthenticationExtension):
    """The token, as the OpenAPI schema describes it."""

    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from your profile page: `Authorization: Bearer ipamui_…`.",
        }
