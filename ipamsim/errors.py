"""Errors the endpoint answers with, in EC2's terms."""

from __future__ import annotations

STATUS_BY_CODE = {
    "DryRunOperation": 412,
    "UnauthorizedOperation": 403,
    "RequestLimitExceeded": 503,
    "InternalError": 500,
}


class ApiError(Exception):
    """An EC2 error response: ``code`` as ``Error.Code``, with EC2's HTTP status for it.

    ``rule`` is the code of the :mod:`awsipam` rule broken, if one was; the endpoint sends it
    in an ``x-ipamsim-rule`` header (AWS sends none), so tests can tell which rule spoke.
    """

    def __init__(
        self, code: str, message: str, status: int | None = None, *, rule: str | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status or STATUS_BY_CODE.get(code, 400)
        self.rule = rule


def not_found(kind: str, resource_id: str) -> ApiError:
    """``InvalidIpamPoolId.NotFound`` and its kin, with AWS's wording."""
    codes = {
        "ipam": ("InvalidIpamId.NotFound", "ipam"),
        "scope": ("InvalidIpamScopeId.NotFound", "ipam-scope"),
        "pool": ("InvalidIpamPoolId.NotFound", "ipam-pool"),
    }
    code, label = codes[kind]
    return ApiError(code, f"The {label} ID '{resource_id}' does not exist")
