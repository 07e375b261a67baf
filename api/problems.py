"""Errors as problem details (RFC 9457): ``application/problem+json`` with the rule's code.

Every error the API answers has ``type``, ``title``, ``status``, ``detail`` and ``instance``,
and, for what the caller can mend, ``errors``: each with the ``field`` it concerns (a dotted
path into the request body, ``tags.2.key``; null for the request as a whole), the stable
``code`` the forms' tests assert on (``netmask_min_gt_max``, or AWS's own error code) and a
``detail`` for people. ``code`` and ``field`` at the top repeat the first of them.

- 400 ``invalid-request``: the body or a parameter is not of the shape the schema gives;
- 422 ``rule-violation``: the request is well formed but breaks one of AWS's rules, judged by
  :mod:`awsipam.rules` through the same forms as the pages use, before AWS is called;
- 422 ``aws-refused``: AWS refused the call (its error code in ``code``);
- 403 ``aws-not-authorised``: AWS says the app's credentials may not make the call;
- 503 ``aws-unavailable``: AWS did not answer in time (``Retry-After`` says when to try again);
- 409 ``conflict``: the object is not in a state that allows this now (a plan being applied);
- 412 ``precondition-failed``: ``If-Match`` names a version the object is no longer at;
- 401, 403, 404, 405, 406, 415, 429 as HTTP has them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from pools.aws import AwsError, AwsNotAuthorised, AwsUnavailable

CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "urn:ipamui:problem:"
RETRY_AFTER_SECONDS = 5

TITLES = {
    "invalid-request": "The request is not of the expected shape",
    "rule-violation": "The request breaks an AWS IPAM rule",
    "aws-refused": "AWS refused the call",
    "aws-not-authorised": "AWS does not allow this call",
    "aws-unavailable": "AWS did not answer in time",
    "conflict": "Not possible in the object's current state",
    "precondition-failed": "The object changed since it was read",
    "not-authenticated": "Authentication is needed",
    "permission-denied": "You may not do this",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "not-acceptable": "Not acceptable",
    "unsupported-media-type": "Unsupported media type",
    "throttled": "Too many requests",
}
_SLUG_OF_STATUS = {
    400: "invalid-request",
    401: "not-authenticated",
    403: "permission-denied",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    415: "unsupported-media-type",
    429: "throttled",
}


def error(field: str | None, code: str, detail: str) -> dict[str, Any]:
    return {"field": field, "code": code, "detail": detail}


class Problem(exceptions.APIException):
    """An error answered as problem details: its kind (``slug``), status and errors."""

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        status_code: int,
        errors: Iterable[dict[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.slug = slug
        self.status_code = status_code
        self.errors = list(errors)
        self.headers = dict(headers or {})


def conflict(detail: str, code: str, field: str | None = None) -> Problem:
    return Problem(
        "conflict",
        detail,
        status_code=status.HTTP_409_CONFLICT,
        errors=[error(field, code, detail)],
    )


def form_errors(form: Any, names: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The errors of a Django form (and of its tag formsets, ``form.formsets``) as problem
    errors; ``names`` maps a form field to the request's field where they differ."""
    names = names or {}
    found = []
    for name, errors in form.errors.as_data().items():
        field = None if name == NON_FIELD_ERRORS else names.get(name, name)
        found += [error(field, e.code or "invalid", _text(e)) for e in errors]
    for formset in getattr(form, "formsets", ()):
        # a formset's prefix is the request's field: "tag" rows are "tags", "arts" rows are
        # "allocation_resource_tags"
        base = names.get(formset.prefix, formset.prefix)
        for e in formset.non_form_errors().as_data():
            found.append(error(base, e.code or "invalid", _text(e)))
        for index, row in enumerate(formset.forms):
            for name, errors in row.errors.as_data().items():
                field = f"{base}.{index}" if name == NON_FIELD_ERRORS else f"{base}.{index}.{name}"
                found += [error(field, e.code or "invalid", _text(e)) for e in errors]
    return found


def _text(e: Any) -> str:
    return " ".join(e.messages)


def rule_violation(form: Any, names: Mapping[str, str] | None = None) -> Problem:
    errors = form_errors(form, names) or [error(None, "invalid", "The request is not valid.")]
    return Problem(
        "rule-violation",
        errors[0]["detail"],
        status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        errors=errors,
    )


def aws_problem(err: AwsError, fields: Mapping[str, str] | None = None) -> Problem:
    """AWS's answer: refused (with its code, on the field of the member it names), not
    authorised, or no answer in time."""
    field = (fields or {}).get(err.member or "") if err.member else None
    errors = [error(field, err.code or "aws_error", err.message)]
    if isinstance(err, AwsUnavailable):
        return Problem(
            "aws-unavailable",
            err.message,
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            errors=errors,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(err, AwsNotAuthorised):
        return Problem(
            "aws-not-authorised", err.message, status_code=status.HTTP_403_FORBIDDEN, errors=errors
        )
    return Problem(
        "aws-refused",
        err.message,
        status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        errors=errors,
    )


def _flatten(detail: Any, path: str | None = None) -> list[dict[str, Any]]:
    """DRF's nested validation errors as a flat list with dotted field paths."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            sub = None if key in ("non_field_errors", NON_FIELD_ERRORS) else str(key)
            out += _flatten(value, sub if path is None else (f"{path}.{sub}" if sub else path))
        return out
    if isinstance(detail, list):
        out = []
        for index, value in enumerate(detail):
            nested = isinstance(value, dict | list)
            out += _flatten(value, (f"{path}.{index}" if path else str(index)) if nested else path)
        return out
    return [error(path, getattr(detail, "code", None) or "invalid", str(detail))]


def _slug_and_errors(exc: exceptions.APIException) -> tuple[str, list[dict[str, Any]]]:
    if isinstance(exc, Problem):
        return exc.slug, exc.errors
    slug = _SLUG_OF_STATUS.get(exc.status_code, "invalid-request")
    if isinstance(exc, exceptions.ValidationError):
        return slug, _flatten(exc.detail)
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else slug.replace("-", "_")
    return slug, [error(None, code, str(exc.detail))]


def handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's exception handler, answering in problem details."""
    if isinstance(exc, AwsError):
        exc = aws_problem(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Nothing of this kind has this ID.")
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    slug, errors = _slug_and_errors(exc)
    detail = errors[0]["detail"] if errors and isinstance(exc.detail, dict | list) else exc.detail
    request = context.get("request")
    body = {
        "type": TYPE_BASE + slug,
        "title": TITLES.get(slug, slug),
        "status": response.status_code,
        "detail": str(detail),
        "instance": request.get_full_path() if request is not None else "",
        "code": errors[0]["code"] if errors else slug,
        "field": errors[0]["field"] if errors else None,
        "errors": errors,
    }
    response.data = body
    response.content_type = CONTENT_TYPE
    for name, value in getattr(exc, "headers", {}).items():
        response[name] = value
    return response


def plain_response(request: Any, slug: str, status_code: int, code: str, detail: str) -> Any:
    """Problem details answered outside DRF (by a middleware, before any view)."""
    from django.http import JsonResponse

    body = {
        "type": TYPE_BASE + slug,
        "title": TITLES.get(slug, slug),
        "status": status_code,
        "detail": detail,
        "instance": request.path,
        "code": code,
        "field": None,
        "errors": [error(None, code, detail)],
    }
    return JsonResponse(body, status=status_code, content_type=CONTENT_TYPE)
