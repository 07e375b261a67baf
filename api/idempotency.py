"""``Idempotency-Key`` on the API's writes: a retried request gets the first answer.

The key is also the call's ClientToken, so AWS itself makes nothing twice; this keeps the
first success's answer too, so that a retry of a request whose effect is already in the mirror
(an allocation of a named CIDR, which the rules would now find taken) answers as the first
did, with ``Idempotent-Replayed: true``. The same key with another request is refused (422,
``IdempotentParameterMismatch``, as AWS answers a reused ClientToken). Answers are kept for a
day, as long as a retry makes sense; older ones are dropped as the user's next ones are kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from api import problems
from api.models import IdempotentRequest
from awsipam.constants import MAX_CLIENT_TOKEN_LENGTH
from pools import services

HEADER = "Idempotency-Key"
KEPT_FOR = timedelta(hours=24)
KEY = re.compile(rf"[\x21-\x7e]{{1,{MAX_CLIENT_TOKEN_LENGTH}}}")
INVALID = f"An {HEADER} is 1 to {MAX_CLIENT_TOKEN_LENGTH} printable ASCII characters."
MISMATCH = f"This {HEADER} was already used with another request."
PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "string", "pattern": f"^{KEY.pattern}$"},
    OpenApiParameter.HEADER,
    description=(
        "Also the call's ClientToken (1 to 64 printable ASCII characters). A request sent "
        "again with the same key changes nothing more and gets the first answer, with "
        "`Idempotent-Replayed: true`; the same key with another request is refused."
    ),
)


def key_of(request: Request) -> str | None:
    """The request's key (a 400 problem if it is no key), or None."""
    key = request.headers.get(HEADER)
    if key is not None and not KEY.fullmatch(key):
        raise problems.Problem(
            "invalid-request",
            INVALID,
            status_code=status.HTTP_400_BAD_REQUEST,
            errors=[problems.error(HEADER, "idempotency_key_invalid", INVALID)],
        )
    return key


def client_token(request: Request) -> str:
    """The ClientToken of the request's call: its key, or a new token."""
    return key_of(request) or services.new_client_token()


def _fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _replay(found: IdempotentRequest) -> Response:
    headers = {"Idempotent-Replayed": "true"}
    if found.location:
        headers["Location"] = found.location
    # nothing is created again: the first answer, but 200 where it was 201
    created = found.status == status.HTTP_201_CREATED
    return Response(
        found.body, status=status.HTTP_200_OK if created else found.status, headers=headers
    )


def idempotent(view: Callable[..., Response]) -> Callable[..., Response]:
    """A write that answers a repeated key with its first success."""

    @wraps(view)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = key_of(request)
        if key is None:
            return view(self, request, *args, **kwargs)
        fingerprint = _fingerprint(request)
        mine = IdempotentRequest.objects.filter(user=request.user)
        cutoff = timezone.now() - KEPT_FOR
        found = mine.filter(key=key, created_at__gt=cutoff).first()
        if found is not None:
            if found.fingerprint != fingerprint:
                raise problems.Problem(
                    "aws-refused",
                    MISMATCH,
                    status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
                    errors=[problems.error(HEADER, "IdempotentParameterMismatch", MISMATCH)],
                )
            return _replay(found)
        response = view(self, request, *args, **kwargs)
        if status.is_success(response.status_code):
            try:
                with transaction.atomic():
                    mine.filter(created_at__lte=cutoff).delete()
                    IdempotentRequest.objects.create(
                        user=request.user,
                        key=key,
                        fingerprint=fingerprint,
                        status=response.status_code,
                        body=response.data,
                        location=response.headers.get("Location", "")[:300],
                    )
            except IntegrityError:  # a concurrent request with the key answered first
                pass
        return response

    return wrapper
