"""``/api/``: where everything is, for a caller that starts from the top."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import VIEW_POOLS
from api.schema import problem_responses

LINKS = {
    "schema": "api:schema",
    "docs": "api:docs",
    "ipams": "api:ipam-list",
    "scopes": "api:scope-list",
    "pools": "api:pool-list",
    "changes": "api:change-list",
    "plans": "api:plan-list",
    "sync": "api:sync",
}


class ApiRoot(APIView):
    """The API's addresses."""

    required = {"get": VIEW_POOLS, "head": VIEW_POOLS}

    @extend_schema(
        summary="Where everything is",
        responses={
            200: inline_serializer("ApiRoot", {name: serializers.URLField() for name in LINKS}),
            **problem_responses(401, 403),
        },
    )
    def get(self, request: Request) -> Response:
        return Response(
            {name: request.build_absolute_uri(reverse(url)) for name, url in LINKS.items()}
        )
