"""What the OpenAPI schema says of every operation: its problem details."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from api.problems import CONTENT_TYPE


class ProblemErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="A dotted path into the body.")
    code = serializers.CharField(help_text="The rule's stable code, or AWS's error code.")
    detail = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """Problem details (RFC 9457)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField()
    code = serializers.CharField()
    field = serializers.CharField(allow_null=True)
    errors = ProblemErrorSerializer(many=True)


DESCRIPTIONS = {
    400: "The request is not of the expected shape (problem details).",
    401: "No valid token or session.",
    403: "You may not do this (or AWS does not allow the app to).",
    404: "Nothing of this kind has this ID.",
    409: "Not possible in the object's current state.",
    412: "If-Match names a version the object is no longer at.",
    422: "An AWS rule is broken, or AWS refused the call (the rule's code, the field).",
    503: "AWS did not answer in time; try again after Retry-After.",
}


def problem_responses(*codes: int) -> dict[tuple[int, str], OpenApiResponse]:
    """Problem details (``application/problem+json``) for each status code."""
    return {
        (code, CONTENT_TYPE): OpenApiResponse(
            ProblemSerializer, description=DESCRIPTIONS.get(code, "A problem.")
        )
        for code in codes
    }


PROBLEMS = problem_responses(400, 401, 403, 404)
