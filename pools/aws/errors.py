"""AWS's answers translated into domain errors that know which form field they concern.

EC2 has no modelled error classes: callers match ``Error.Code``. Each code maps here, once, to
a kind of failure and (where one fits) the CreateIpamPool member it concerns; the forms map
members to their fields.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError
from django.dispatch import Signal

from awsipam.constants import NETMASK_LIMITS

log = logging.getLogger(__name__)
T = TypeVar("T")

# Error.Code -> the request member it concerns: the first of these that the operation has
# (none: the request as a whole).
MEMBER_FOR_CODE: dict[str, tuple[str, ...]] = {
    "InvalidIpamScopeId.NotFound": ("IpamScopeId",),
    "InvalidIpamId.NotFound": ("IpamId",),
    "InvalidIpamPoolId.NotFound": ("SourceIpamPoolId", "IpamPoolId"),
    "IdempotentParameterMismatch": (),
    "LimitExceeded": (),
    "IncorrectState": ("SourceIpamPoolId", "IpamPoolId"),
}

# Words in the message of an InvalidParameterValue / InvalidParameterCombination error, in
# order of precedence, and the member they point at. [choice] AWS gives no field in errors.
MEMBER_FOR_WORDS: tuple[tuple[str, str], ...] = (
    ("publiclyadvertisable", "PubliclyAdvertisable"),
    ("publicipsource", "PublicIpSource"),
    ("awsservice", "AwsService"),
    ("sourceresource", "SourceResource"),
    ("resource region", "SourceResource"),
    ("locale", "Locale"),
    ("default netmask", "AllocationDefaultNetmaskLength"),
    ("allocationdefaultnetmasklength", "AllocationDefaultNetmaskLength"),
    ("maximum netmask", "AllocationMaxNetmaskLength"),
    ("allocationmaxnetmasklength", "AllocationMaxNetmaskLength"),
    ("minimum netmask", "AllocationMinNetmaskLength"),
    ("allocationminnetmasklength", "AllocationMinNetmaskLength"),
    ("netmask", "AllocationMinNetmaskLength"),
    ("pool depth", "SourceIpamPoolId"),
    ("source pool", "SourceIpamPoolId"),
    ("client token", "ClientToken"),
    ("clienttoken", "ClientToken"),
    ("allocationresourcetag", "AllocationResourceTags"),
    ("tag", "TagSpecifications"),
    ("disallowedcidrs", "DisallowedCidrs"),
    ("allowedcidrs", "AllowedCidrs"),
    ("cidr", "Cidr"),
    ("addressfamily", "AddressFamily"),
    ("family", "AddressFamily"),
)

# AWS has no such pool (the second: the app's own, for a pool missing from an answer).
POOL_NOT_FOUND_CODES = frozenset({"InvalidIpamPoolId.NotFound", "NotFound"})

THROTTLING_CODES = frozenset(
    {
        "RequestLimitExceeded",
        "Throttling",
        "ThrottlingException",
        "ConcurrentMutationLimitExceeded",
        "ServiceUnavailable",
        "Unavailable",
        "InternalError",
    }
)
AUTH_CODES = frozenset(
    {
        "UnauthorizedOperation",
        "AuthFailure",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "OptInRequired",
        "Blocked",
        "ExpiredToken",
        "UnrecognizedClientException",
    }
)


class AwsError(Exception):
    """AWS did not do what was asked. ``member`` is the request member it concerns, if any."""

    retryable = False

    def __init__(self, message: str, *, code: str = "", member: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.member = member


class AwsRefused(AwsError):
    """AWS answered and said no: fix the request."""


class AwsNotAuthorised(AwsError):
    """The credentials in use may not do this."""


class AwsUnavailable(AwsError):
    """AWS could not be reached, or is throttling: try again."""

    retryable = True


NETMASK_MEMBERS = (
    "AllocationMinNetmaskLength",
    "AllocationMaxNetmaskLength",
    "AllocationDefaultNetmaskLength",
)

# "Value (x) for parameter Locale is invalid", "Missing required parameter in input: "Cidr"".
_NAMED_PARAMETER = re.compile(r'\bparameter(?:\s+in\s+input:)?\s+"?([A-Z][A-Za-z0-9]*)')


def named_parameter(message: str) -> str | None:
    """The request member a message names as "parameter X", if it names one."""
    match = _NAMED_PARAMETER.search(message)
    return match[1] if match else None


def _netmask_out_of_range(params: Mapping[str, Any]) -> str | None:
    """The netmask member sent with a value outside its address family's range."""
    limit = NETMASK_LIMITS.get(params.get("AddressFamily", ""))
    if limit is None:
        return None
    for member in NETMASK_MEMBERS:
        value = params.get(member)
        if isinstance(value, int) and not 0 <= value <= limit:
            return member
    return None


def member_for(
    code: str,
    message: str,
    params: Mapping[str, Any] | None = None,
    members: Collection[str] | None = None,
) -> str | None:
    """The request member an error concerns.

    ``params`` (the request) resolves vague messages; ``members`` (the operation's input
    members) rules out members of other operations.
    """

    def fits(member: str) -> bool:
        return members is None or member in members

    if code in MEMBER_FOR_CODE:
        return next((m for m in MEMBER_FOR_CODE[code] if fits(m)), None)
    if named := named_parameter(message):
        return named
    if quoted := _quoted_member(message, params or {}, fits):
        return quoted
    text = message.lower().replace(" ", "") if code.startswith("Invalid") else ""
    spaced = message.lower()
    for words, member in MEMBER_FOR_WORDS:
        if fits(member) and (words in spaced or words.replace(" ", "") in text):
            if words == "netmask" and params:
                return _netmask_out_of_range(params) or member
            return member
    return None


def _quoted_member(message: str, params: Mapping[str, Any], fits: Callable[[str], bool]):
    """The member whose value the message quotes (``10.0.0.0/16 overlaps ...``), if one does;
    short values (``ipv4``) are words of the message as often as quotes."""
    for member, value in params.items():
        if member in _NEVER_QUOTED or not (isinstance(value, str) and len(value) >= 8):
            continue
        if fits(member) and value in message:
            return member
    return None


# Ids of the object the request is about: a message naming them says nothing of a field.
_NEVER_QUOTED = frozenset({"ClientToken", "IpamPoolId", "IpamScopeId", "IpamId"})


def operation_members(func: Callable[..., Any]) -> frozenset[str] | None:
    """The input members of the operation a boto3 client method calls, if it is one."""
    meta = getattr(getattr(func, "__self__", None), "meta", None)
    name = getattr(func, "__name__", "")
    try:
        operation = meta.service_model.operation_model(meta.method_to_api_mapping[name])
    except (AttributeError, KeyError):
        return None
    shape = operation.input_shape
    return frozenset(shape.members) if shape is not None else frozenset()


def translate(
    exc: Exception,
    params: Mapping[str, Any] | None = None,
    members: Collection[str] | None = None,
) -> AwsError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Unknown"), error.get("Message", str(exc))
        if code in AUTH_CODES:
            return AwsNotAuthorised(
                f"AWS refused: the credentials in use are not allowed to do this ({code}).",
                code=code,
            )
        if (
            code in THROTTLING_CODES
            or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400) >= 500
        ):
            return AwsUnavailable(
                f"AWS is busy or throttling requests ({code}). Nothing was changed; try again.",
                code=code,
            )
        return AwsRefused(message, code=code, member=member_for(code, message, params, members))
    if isinstance(exc, ParamValidationError):
        report = str(exc.kwargs.get("report", exc))
        return AwsRefused(str(exc), code="ParamValidation", member=named_parameter(report))
    if isinstance(exc, NoCredentialsError):
        return AwsNotAuthorised("No AWS credentials are configured.", code="NoCredentials")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return AwsUnavailable(
            "AWS could not be reached. Nothing was changed; check the network and try again.",
            code="Unreachable",
        )
    if isinstance(exc, ResponseParserError):
        return AwsUnavailable(
            "AWS answered with a response that could not be read. Nothing here was changed; "
            "try again, and if it persists, look for unusual characters in names or tags.",
            code="ResponseParserError",
        )
    if isinstance(exc, ReadTimeoutError):
        return AwsUnavailable(
            "AWS did not answer in time. The request may still have been carried out; "
            "trying again is safe.",
            code="Timeout",
        )
    return AwsUnavailable(f"The call to AWS failed: {exc}", code=type(exc).__name__)


# Sent after every call made through call_aws, succeeded or not, with ``action`` (AWS's name of
# the operation), ``region``, ``params``, ``response`` (None on failure), ``error`` (an
# AwsError, or None), ``request_id`` (AWS's, when it answered) and ``seconds``. The change log
# listens (pools.changelog); this module knows nothing of it.
aws_called = Signal()


def operation_name(func: Callable[..., Any]) -> str:
    """AWS's name of the operation a boto3 client method calls (``CreateIpamPool``)."""
    meta = getattr(getattr(func, "__self__", None), "meta", None)
    name = getattr(func, "__name__", str(func))
    return getattr(meta, "method_to_api_mapping", {}).get(name, name)


def call_aws(func: Callable[..., T], /, **params: Any) -> T:
    """Call a boto3 method, raising an :class:`AwsError` for anything but success."""
    meta = getattr(getattr(func, "__self__", None), "meta", None)
    started = time.monotonic()

    def report(response: Any, error: AwsError | None, answer: Any) -> None:
        aws_called.send(
            sender=call_aws,
            action=operation_name(func),
            region=getattr(meta, "region_name", ""),
            params=params,
            response=response,
            error=error,
            request_id=str((answer or {}).get("ResponseMetadata", {}).get("RequestId", "")),
            seconds=time.monotonic() - started,
        )

    try:
        response = func(**params)
    except (ClientError, BotoCoreError, ResponseParserError) as exc:
        error = translate(exc, params, operation_members(func))
        log.info("AWS %s failed: %s %s", getattr(func, "__name__", func), error.code, error)
        report(None, error, getattr(exc, "response", None))
        raise error from exc
    report(response, None, response)
    return response
