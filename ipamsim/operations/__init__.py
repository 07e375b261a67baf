"""The IPAM operations: plain functions ``(ctx, params) -> output`` on the state store.

``params`` and the returned output are shaped as boto3 passes and returns them; the protocol
layer does all the reading and writing. Each operation checks everything before it changes
anything, so a refused request leaves no trace.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ipamsim.errors import ApiError, not_found
from ipamsim.store import Store
from pools import rules

if TYPE_CHECKING:
    from ipamsim.simulator import Simulator

Operation = Callable[["Context", dict[str, Any]], dict[str, Any]]
OPERATIONS: dict[str, Operation] = {}

DELETED = frozenset({"delete-in-progress", "delete-complete"})
GONE = "__gone__"


def operation(action: str) -> Callable[[Operation], Operation]:
    def register(func: Operation) -> Operation:
        OPERATIONS[action] = func
        return func

    return register


@dataclass
class Context:
    sim: Simulator
    store: Store
    action: str
    region: str
    now: float

    @property
    def account_id(self) -> str:
        return self.sim.config.account_id

    def arn(self, kind: str, resource_id: str) -> str:
        return f"arn:aws:ec2::{self.account_id}:{kind}/{resource_id}"

    # --- lookups (IPAM objects are regional: seen only from their home Region) --------------

    def find(self, kind: str, resource_id: str, *, include_deleted: bool = True) -> dict[str, Any]:
        obj = self.store.get(kind, resource_id)
        if (
            obj is None
            or self._region_of(kind, obj) != self.region
            or (not include_deleted and obj["State"] in DELETED)
        ):
            raise not_found(kind, resource_id)
        return obj

    def _region_of(self, kind: str, obj: dict[str, Any]) -> str:
        return obj["IpamRegion"] if kind in ("ipam", "scope", "pool") else obj["_region"]

    def regional(self, kind: str):
        return (o for o in self.store.all(kind) if self._region_of(kind, o) == self.region)

    # --- lifecycle --------------------------------------------------------------------------

    def schedule(
        self, kind: str, obj: dict[str, Any], state: str, then: str, delay: float | None = None
    ) -> None:
        """Put ``obj`` in ``state`` now, and in ``then`` once the create delay has passed."""
        obj["State"] = state
        obj["_then"] = then
        obj["_due"] = self.now + (self.sim.config.create_delay if delay is None else delay)

    def settle(self) -> None:
        """Apply every scheduled state change that has come due."""
        for kind, obj in list(self.store.due(self.now)):
            then = obj.pop("_then")
            del obj["_due"]
            resource_id = obj[_ID[kind]]
            if then == GONE:
                self.store.remove(kind, resource_id)
                continue
            if then == "create-complete" and "_failure" in obj:
                obj["State"] = "create-failed"
                obj["StateMessage"] = obj.pop("_failure")
            else:
                obj["State"] = then
            if then == "delete-complete":
                obj["_then"] = GONE
                obj["_due"] = self.now + self.sim.config.deleted_retention
            self.store.touch(kind, resource_id)

    # --- idempotency ------------------------------------------------------------------------

    def replay(self, token: str | None, params: dict[str, Any]) -> str | None:
        """The id made by an earlier request with this ClientToken, if the parameters match."""
        if token is None:
            return None
        for violation in rules.check_client_token(token):
            raise ApiError(violation.aws_code, violation.message)
        record = self.store.token(self._token_key(token))
        if record is None:
            return None
        if record["fingerprint"] != _fingerprint(params):
            raise ApiError(
                "IdempotentParameterMismatch",
                f"The client token '{token}' was already used with other parameters.",
            )
        return record["id"]

    def remember(self, token: str | None, params: dict[str, Any], resource_id: str) -> None:
        if token is not None:
            self.store.save_token(
                self._token_key(token), {"fingerprint": _fingerprint(params), "id": resource_id}
            )

    def _token_key(self, token: str) -> str:
        return f"{self.region}|{self.action}|{token}"


_ID = {
    "ipam": "IpamId",
    "scope": "IpamScopeId",
    "pool": "IpamPoolId",
    "cidr": "IpamPoolCidrId",
    "allocation": "IpamPoolAllocationId",
}


def _fingerprint(params: dict[str, Any]) -> str:
    relevant = {k: v for k, v in params.items() if k not in ("ClientToken", "DryRun")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()


def raise_first(violations: list[rules.Violation]) -> None:
    if violations:
        raise ApiError(violations[0].aws_code, violations[0].message)


def tags_for(params: dict[str, Any], resource_type: str) -> list[dict[str, str]]:
    """The tags of TagSpecifications for ``resource_type``, checked against the tag rules."""
    tags: list[dict[str, str]] = []
    for spec in params.get("TagSpecifications", []):
        if spec.get("ResourceType") != resource_type:
            raise ApiError(
                "InvalidParameterValue",
                f"'{spec.get('ResourceType')}' is not a valid taggable resource type "
                f"for this operation; use '{resource_type}'.",
            )
        tags.extend(
            {"Key": t.get("Key", ""), "Value": t.get("Value", "")} for t in spec.get("Tags", [])
        )
    raise_first(rules.check_tags([(t["Key"], t["Value"]) for t in tags]))
    return tags


# Register the operations.
from ipamsim.operations import allocations, cidrs, ipams, pools, scopes  # noqa: E402, F401
