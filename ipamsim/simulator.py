"""The local IPAM endpoint: one object that answers EC2 Query requests about IPAM.

``Simulator.handle`` takes a request's method, headers and body and returns a status and an
XML body, exactly as EC2 would. The HTTP server and the in-process botocore hook both call it.
"""

from __future__ import annotations

import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from awsipam import constants, rules
from awsipam.facts import Quotas
from ipamsim import protocol
from ipamsim.context import Context, refuse_at_once
from ipamsim.errors import ApiError
from ipamsim.operations import OPERATIONS
from ipamsim.store import Store

RULE_HEADER = "x-ipamsim-rule"
# Set on a change whose answer must not reach the client (the ``lose_next_answers`` fault);
# the transports strip it and act on it, so it never goes on the wire.
LOST_HEADER = "x-ipamsim-lost"
_CREDENTIAL_REGION = re.compile(r"Credential=[^/,]+/\d{8}/([a-z0-9-]+)/ec2/aws4_request")


@dataclass
class Config:
    account_id: str = "123456789012"
    default_region: str = "us-east-1"
    create_delay: float = 2.0
    # [choice] seconds a provisioned CIDR stays pending-provision (or ends failed-provision
    # after); None: the create delay. Deprovisioning keeps the create delay.
    provision_delay: float | None = None
    deleted_retention: float = 300.0  # [choice] how long delete-complete pools stay listed
    max_ipams_per_region: int = constants.DEFAULT_IPAMS_PER_REGION
    max_scopes_per_ipam: int = constants.DEFAULT_SCOPES_PER_IPAM
    max_pools_per_scope: int = constants.DEFAULT_POOLS_PER_SCOPE
    max_cidrs_per_pool: int = constants.DEFAULT_CIDRS_PER_POOL

    @property
    def quotas(self) -> Quotas:
        return Quotas(
            ipams_per_region=self.max_ipams_per_region,
            scopes_per_ipam=self.max_scopes_per_ipam,
            pools_per_scope=self.max_pools_per_scope,
            cidrs_per_pool=self.max_cidrs_per_pool,
        )

    @property
    def provision_seconds(self) -> float:
        """How long ProvisionIpamPoolCidr's CIDR stays ``pending-provision``."""
        return self.create_delay if self.provision_delay is None else self.provision_delay


# The most each numeric fault may be: rates are fractions of requests; latency is seconds
# (botocore gives up reading after 60); the fail_next_* and lose_next_* faults are counts of
# requests [choice].
FAULT_LIMITS: dict[str, float] = {
    "throttle_rate": 1.0,
    "mutation_conflict_rate": 1.0,
    "latency": 60.0,
    "fail_next_creates": 10_000,
    "fail_next_provisions": 10_000,
    "lose_next_answers": 10_000,
}


@dataclass
class Faults:
    """Misbehaviour on demand, for the app's tests of its error paths."""

    deny: bool = False  # every action answers 403 UnauthorizedOperation (DryRun too)
    deny_actions: set[str] = field(default_factory=set)
    throttle_rate: float = 0.0  # fraction of requests answered 503 RequestLimitExceeded
    latency: float = 0.0  # seconds added to every request
    # fraction of changes (not Describe*/Get*) answered 400 ConcurrentMutationLimitExceeded
    mutation_conflict_rate: float = 0.0
    fail_next_creates: int = 0  # the next N pools end in create-failed
    fail_message: str = "The pool could not be created."
    # [choice] the next N accepted ProvisionIpamPoolCidr requests end failed-provision, with
    # FailureReason {Code: cidr-not-available, Message: provision_fail_message}
    fail_next_provisions: int = 0
    provision_fail_message: str = "The CIDR could not be provisioned."
    # [choice] the next N successful changes (not Describe*/Get*) are carried out in full, but
    # their answer never reaches the client, as when AWS answers after the client's read
    # timeout: in-process the client gets ReadTimeoutError, over HTTP the connection closes
    lose_next_answers: int = 0
    unreachable: bool = False  # in-process only: the client cannot connect at all

    def update(self, changes: Mapping[str, Any]) -> None:
        """Change some faults; a wrong name or value raises ValueError and changes nothing."""
        if not isinstance(changes, Mapping):
            raise ValueError("faults are an object of fault names and values")
        checked = {key: self._checked(key, value) for key, value in changes.items()}
        for key, value in checked.items():
            setattr(self, key, value)

    def _checked(self, key: str, value: Any) -> Any:
        if key not in self.__dataclass_fields__:
            raise ValueError(f"unknown fault {key!r}")
        if key == "deny_actions":
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list | tuple | set | frozenset) or not all(
                isinstance(name, str) for name in names
            ):
                raise ValueError("deny_actions must be a list of action names")
            return set(names)
        default = self.__dataclass_fields__[key].default
        if isinstance(default, bool | str):
            if type(value) is not type(default):
                raise ValueError(f"{key} must be a {type(default).__name__}")
            return value
        limit = FAULT_LIMITS[key]
        # NaN compares false and infinities lie outside, so both are refused here too.
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= limit:
            raise ValueError(f"{key} must be a number from 0 to {limit:g}")
        if isinstance(default, int):
            if value != int(value):
                raise ValueError(f"{key} must be a whole number")
            return int(value)
        return float(value)

    def as_dict(self) -> dict[str, Any]:
        return {
            key: sorted(value) if isinstance(value, set) else value
            for key, value in self.__dict__.items()
        }

    def denies(self, action: str) -> bool:
        return self.deny or action in self.deny_actions


class Simulator:
    def __init__(
        self,
        config: Config | None = None,
        *,
        state_path: str | None = None,
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
    ) -> None:
        self.config = config or Config()
        self.faults = Faults()
        self.store = Store(state_path)
        self.clock = clock
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        # Requests per action that reached dispatch (refused and throttled ones too), for
        # benchmarks and tests; read with ``calls_made``, guarded by ``_calls_lock``.
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()

    # --- entry points -----------------------------------------------------------------------

    def handle(
        self, method: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        """Answer one EC2 Query request: ``(status, xml, extra headers)``. Never raises.

        A refusal by a rule of :mod:`awsipam` names it in an ``x-ipamsim-rule`` header, and so
        does an accepted request that will fail by one (a CIDR that ends ``failed-*``). A
        change whose answer the ``lose_next_answers`` fault takes carries ``LOST_HEADER``.
        """
        rid = protocol.request_id()
        try:
            if self.faults.latency:
                time.sleep(self.faults.latency)
            params = self._form(method, query, body)
            action = params.get("Action", "")
            payload, extra = self._dispatch(params, self._region(headers), rid)
            if self._take_lost_answer(action):
                extra[LOST_HEADER] = "1"
            return 200, payload, extra
        except ApiError as err:
            extra = {RULE_HEADER: err.rule} if err.rule else {}
            return err.status, protocol.write_error(err.code, err.message, rid), extra
        except Exception as exc:  # an endpoint bug must still look like EC2
            error = protocol.write_error("InternalError", f"{type(exc).__name__}: {exc}", rid)
            return 500, error, {}

    def call(self, action: str, region: str | None = None, **params: Any) -> dict[str, Any]:
        """Run an operation directly with boto3-style parameters (for seeding and tests)."""
        refuse_at_once(rules.check_text(params))
        with self._lock, self.store.request():
            ctx = self._context(action, region or self.config.default_region)
            return OPERATIONS[action](ctx, params)

    def calls_made(self) -> dict[str, int]:
        """A copy of the requests per action so far."""
        with self._calls_lock:
            return dict(self.calls)

    def reset_calls(self) -> None:
        with self._calls_lock:
            self.calls.clear()

    # --- internals --------------------------------------------------------------------------

    @staticmethod
    def _form(method: str, query: str, body: bytes) -> dict[str, str]:
        text = query if method == "GET" else body.decode("utf-8", "replace")
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
        except ValueError:
            raise ApiError("MalformedQueryString", "The query string is malformed.") from None
        return dict(pairs)

    def _region(self, headers: dict[str, str]) -> str:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        match = _CREDENTIAL_REGION.search(auth)
        return match[1] if match else self.config.default_region

    def _dispatch(
        self, params: dict[str, str], region: str, rid: str
    ) -> tuple[bytes, dict[str, str]]:
        action = params.pop("Action", None)
        params.pop("Version", None)
        if not action:
            raise ApiError("MissingAction", "The request must contain the parameter Action")
        if action not in OPERATIONS:
            raise ApiError(
                "InvalidAction", f"The action {action} is not valid for this web service."
            )
        with self._calls_lock:
            self.calls[action] += 1
        model = protocol.operation_model(action)
        request = protocol.parse_params(model, params)
        protocol.validate_input(model, request)
        # Text XML cannot carry is refused for every action, before anything else is judged:
        # the answer could not even quote it.
        refuse_at_once(rules.check_text(request))
        if self.faults.throttle_rate and self._random.random() < self.faults.throttle_rate:
            raise ApiError("RequestLimitExceeded", "Request limit exceeded.")
        if self.faults.denies(action):
            raise ApiError(
                "UnauthorizedOperation", "You are not authorized to perform this operation."
            )
        if request.pop("DryRun", False):
            raise ApiError(
                "DryRunOperation", "Request would have succeeded, but DryRun flag is set."
            )
        if (
            self.faults.mutation_conflict_rate
            and not action.startswith(("Describe", "Get"))
            and self._random.random() < self.faults.mutation_conflict_rate
        ):
            raise ApiError(
                "ConcurrentMutationLimitExceeded",
                "There are too many concurrent mutations for the requested resource. "
                "Try again later.",
            )
        with self._lock, self.store.request():
            ctx = self._context(action, region)
            output = OPERATIONS[action](ctx, request)
        extra = {RULE_HEADER: ",".join(ctx.later_rules)} if ctx.later_rules else {}
        return protocol.write_response(model, output, rid), extra

    def _context(self, action: str, region: str) -> Context:
        now = self.clock()
        ctx = Context(sim=self, store=self.store, action=action, region=region, now=now)
        ctx.settle()
        return ctx

    def take_create_failure(self) -> str | None:
        """The StateMessage for a pool that must fail, when the fault asks for one."""
        if self.faults.fail_next_creates > 0:
            self.faults.fail_next_creates -= 1
            return self.faults.fail_message
        return None

    def take_provision_failure(self) -> str | None:
        """The FailureReason message for a CIDR that must fail, when the fault asks for one."""
        if self.faults.fail_next_provisions > 0:
            self.faults.fail_next_provisions -= 1
            return self.faults.provision_fail_message
        return None

    def _take_lost_answer(self, action: str) -> bool:
        """Whether the answer to this successful request is lost (changes only)."""
        if action.startswith(("Describe", "Get")):
            return False
        with self._lock:
            if self.faults.lose_next_answers > 0:
                self.faults.lose_next_answers -= 1
                return True
        return False

    def new_id(self, prefix: str, length: int = 17) -> str:
        """An AWS-style id: ``prefix`` and ``length`` hex digits."""
        return prefix + secrets.token_hex((length + 1) // 2)[:length]
