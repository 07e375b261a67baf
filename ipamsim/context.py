"""What an operation works with: the request's context, the registry, and AWS's refusals.

Operations are plain functions ``(ctx, params) -> output`` on the state store. ``params`` and
the output are shaped as boto3 passes and returns them; the protocol layer does all the
reading and writing. Each operation asks :mod:`awsipam.rules` before it changes anything, so
a refused request leaves no trace.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from awsipam import rules
from awsipam.catalog import Violation
from awsipam.choices import DELETED_STATES, CidrState, PoolState
from ipamsim.errors import ApiError, not_found
from ipamsim.store import Store

if TYPE_CHECKING:
    from ipamsim.simulator import Simulator

Operation = Callable[["Context", dict[str, Any]], dict[str, Any]]
OPERATIONS: dict[str, Operation] = {}

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
    later_rules: list[str] = field(default_factory=list)

    @property
    def account_id(self) -> str:
        return self.sim.config.account_id

    def arn(self, kind: str, resource_id: str) -> str:
        return f"arn:aws:ec2::{self.account_id}:{kind}/{resource_id}"

    def refuse(self, violations: list[Violation]) -> list[Violation]:
        """Answer the first broken rule AWS refuses at once, as AWS does; return the rules
        that AWS judges only after accepting the request (the caller records how they fail),
        noted for the answer's ``x-ipamsim-rule`` header."""
        refuse_at_once(violations)
        self.later_rules += [found.code for found in violations]
        return violations

    # --- lookups (IPAM objects are regional: seen only from their home Region) --------------

    def find(self, kind: str, resource_id: str, *, include_deleted: bool = True) -> dict[str, Any]:
        obj = self.store.get(kind, resource_id)
        if (
            obj is None
            or self._region_of(kind, obj) != self.region
            or (not include_deleted and obj["State"] in DELETED_STATES)
        ):
            raise not_found(kind, resource_id)
        return obj

    def _region_of(self, kind: str, obj: dict[str, Any]) -> str:
        return obj["IpamRegion"] if kind in ("ipam", "scope", "pool") else obj["_region"]

    def regional(self, kind: str, *, after: int = 0) -> list[dict[str, Any]]:
        """The objects of ``kind`` in this Region, in creation order (after ``_seq`` ``after``)."""
        return self.store.select(kind, "region", self.region, after=after)

    # --- lifecycle --------------------------------------------------------------------------

    def schedule(
        self, kind: str, obj: dict[str, Any], state: str, then: str, delay: float | None = None
    ) -> None:
        """Put ``obj`` in ``state`` now, and in ``then`` once ``delay`` (by default the
        create delay) has passed."""
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
            if then == PoolState.CREATE_COMPLETE and "_failure" in obj:
                obj["State"] = PoolState.CREATE_FAILED
                obj["StateMessage"] = obj.pop("_failure")
            else:
                obj["State"] = then
            if kind == "cidr" and then == CidrState.FAILED_PROVISION:
                # A CIDR that failed holds no space: its block goes back to the source pool.
                allocation_id = obj.pop("_allocation", None)
                if allocation_id:
                    self.store.remove("allocation", allocation_id)
            if then == PoolState.DELETE_COMPLETE:
                obj["_then"] = GONE
                obj["_due"] = self.now + self.sim.config.deleted_retention
            self.store.touch(kind, resource_id)

    # --- idempotency ------------------------------------------------------------------------

    def replay(self, token: str | None, params: dict[str, Any]) -> str | None:
        """The id made by an earlier request with this ClientToken, if the parameters match."""
        if token is None:
            return None
        self.refuse(rules.check_client_token({"ClientToken": token}))
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


def refuse_at_once(violations: list[Violation]) -> None:
    """Raise the EC2 error of the first broken rule AWS refuses at once, if there is one (the
    one place a violation becomes an error; :meth:`Context.refuse` and checks made before any
    context exists, such as the text of every request, both come here)."""
    for found in violations:
        if not found.fails_later:
            raise ApiError(found.aws_code, found.message, rule=found.code)


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
