"""AWS's answers translated into domain errors that know which form field they concern.

EC2 has no modelled error classes: callers match ``Error.Code``. Each code maps here, once, to
a kind of failure and (where one fits) the CreateIpamPool member it concerns; the forms map
members to their fields.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# Error.Code -> the request member it concerns (None: the request as a whole).
MEMBER_FOR_CODE: dict[str, str | None] = {
    "InvalidIpamScopeId.NotFound": "IpamScopeId",
    "InvalidIpamId.NotFound": "IpamId",
    "InvalidIpamPoolId.NotFound": "SourceIpamPoolId",
    "IdempotentParameterMismatch": None,
    "LimitExceeded": None,
    "IncorrectState": "SourceIpamPoolId",
}

# Words in the message of an InvalidParameterValue / InvalidParameterCombination error, in
# order of precedence, and the member they point at. [choice] AWS gives no field in errors.
MEMBER_FOR_WORDS: tuple[tuple[str, str], ...] = (
    ("publiclyadvertisable", "PubliclyAdvertisable"),
    ("publicipsource", "PublicIpSource"),
    ("awsservice", "AwsService"),
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
    ("sourceresource", "SourceResource"),
    ("resource region", "SourceResource"),
    ("tag", "TagSpecifications"),
    ("cidr", "Cidr"),
    ("addressfamily", "AddressFamily"),
    ("family", "AddressFamily"),
)

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


def member_for(code: str, message: str) -> str | None:
    if code in MEMBER_FOR_CODE:
        return MEMBER_FOR_CODE[code]
    text = message.lower().replace(" ", "") if code.startswith("Invalid") else ""
    spaced = message.lower()
    for words, member in MEMBER_FOR_WORDS:
        if words in spaced or words.replace(" ", "") in text:
            return member
    return None


def translate(exc: Exception) -> AwsError:
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
        return AwsRefused(message, code=code, member=member_for(code, message))
    if isinstance(exc, NoCredentialsError):
        return AwsNotAuthorised("No AWS credentials are configured.", code="NoCredentials")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return AwsUnavailable(
            "AWS could not be reached. Nothing was changed; check the network and try again.",
            code="Unreachable",
        )
    if isinstance(exc, ReadTimeoutError):
        return AwsUnavailable(
            "AWS did not answer in time. The request may still have been carried out; "
            "trying again is safe.",
            code="Timeout",
        )
    return AwsUnavailable(f"The call to AWS failed: {exc}", code=type(exc).__name__)


def call_aws(func: Callable[..., T], /, **params: Any) -> T:
    """Call a boto3 method, raising an :class:`AwsError` for anything but success."""
    try:
        return func(**params)
    except (ClientError, BotoCoreError) as exc:
        error = translate(exc)
        log.info("AWS %s failed: %s %s", getattr(func, "__name__", func), error.code, error)
        raise error from exc
