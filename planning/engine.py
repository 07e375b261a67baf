"""The apply engine: a run's journal driven to its end, step by step, safely.

A *driver* (:func:`drive`, on the task worker) loops until no step is open. Each turn it

1. holds the steps whose waited-for step failed (the rest of the plan goes on);
2. takes back steps whose driver stopped reporting (its lease ran out): a worker killed at any
   point loses nothing, since the step is then read from AWS before anything is sent again;
3. claims ready steps (every step it waits for done), at most ``IPAM_APPLY_CONCURRENCY``
   calls in flight across all drivers, and sends each on a thread;
4. reads AWS for the steps waiting for a state (``create-complete``, ``provisioned``, ...),
   all the pools of one turn in one DescribeIpamPools, at the time the step was last seen to
   take (the first read then usually finds it done).

Several drivers may drive one run (``IPAM_APPLY_DRIVERS`` are queued): they share the
journal through the database, claiming steps under the run's row lock. A step is never sent
twice by accident: its ClientToken is fixed for the run (:mod:`planning.journal`), and a step
that may have reached AWS (a killed worker, a lost answer) is first looked for in AWS, by its
pool's tags or id. Throttling (``RequestLimitExceeded``, ``ConcurrentMutationLimitExceeded``)
puts a step back with a backoff (exponential, full jitter), counted apart from failures.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore import xform_name
from django.conf import settings
from django.db import close_old_connections, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from awsipam.choices import ON_THE_WAY, CidrState, PoolState
from planning.diff import resolve
from planning.journal import NODE_TAG, PLAN_TAG, record_applied
from planning.models import ApplyRun, ApplyStep, Plan, PlanNode
from pools import mirror
from pools.aws import AwsError, AwsRefused, AwsUnavailable, call_aws, ec2_client
from pools.aws.errors import POOL_NOT_FOUND_CODES, THROTTLING_CODES
from pools.models import IpamPool

log = logging.getLogger(__name__)
S = ApplyStep.Status

DESCRIBE_BATCH = 100  # pool ids per DescribeIpamPools
BACKOFF_BASE = 0.5  # seconds: the first backoff after a throttle is up to this
BACKOFF_CAP = 20.0
TICK = 0.2  # seconds between turns while nothing falls due sooner
HEARTBEAT = 5.0  # seconds between lease renewals (at most a third of the lease)
ALLOCATION_NOT_FOUND = "InvalidIpamPoolAllocationId.NotFound"
# The actions that take a ClientToken [model].
TOKENED = frozenset({"CreateIpamPool", "ProvisionIpamPoolCidr", "AllocateIpamPoolCidr"})


def backoff(tries: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before try ``tries + 1`` after a throttle: full jitter (AWS's
    recommendation), exponential up to :data:`BACKOFF_CAP`."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, tries - 1))
    return (rng or random).uniform(0, ceiling)


@dataclass
class Job:
    """What a thread needs of a step: plain values, no database."""

    pk: int
    step_id: str
    node_key: str
    action: str
    params: dict[str, Any]
    client_token: str
    maybe_sent: bool
    pool_id: str
    settles: str
    tries: int
    plan_pk: int


@dataclass
class Outcome:
    """What became of a step this turn; the driver writes it to the journal."""

    status: str
    pool_id: str = ""
    state: str = ""
    request_id: str = ""
    answer: dict[str, Any] = field(default_factory=dict)
    error_code: str = ""
    error_message: str = ""
    delay: float | None = None  # seconds to the next try or read
    maybe_sent: bool | None = None
    sent: bool = False  # a change was sent this turn
    pool: dict[str, Any] | None = None  # the pool as AWS answered, for the mirror
    cidr: dict[str, Any] | None = None  # the CIDR as AWS answered, for the mirror
    note: str = ""


def _request_id(response: dict[str, Any]) -> str:
    return str(response.get("ResponseMetadata", {}).get("RequestId", ""))


def _plain(response: dict[str, Any]) -> dict[str, Any]:
    """AWS's answer without its metadata, as JSON takes it (times as text)."""
    answer = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    return json.loads(json.dumps(answer, default=str))


def _unavailable(err: AwsError, job: Job, rng: random.Random) -> Outcome:
    """A call AWS did not carry out for its rate (try again later) or that may have reached
    it (a timeout: read AWS before trying again)."""
    throttled = err.code in THROTTLING_CODES
    if job.tries + 1 >= settings.IPAM_APPLY_MAX_TRIES:
        return Outcome(
            S.FAILED,
            error_code=err.code,
            error_message=f"{err.message} (gave up after {job.tries + 1} tries)",
        )
    return Outcome(
        S.PENDING,
        error_code=err.code,
        error_message=err.message,
        delay=backoff(job.tries + 1, rng),
        maybe_sent=None if throttled else True,
        note="AWS is throttling: trying again" if throttled else "no answer: reading AWS first",
    )


# --- one step, on a thread ------------------------------------------------------------------


class Steps:
    """The calls and reads of each action: ``perform`` sends a step (after reading AWS when
    it may have been sent before); ``check`` reads where a sent step has got to."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def perform(self, job: Job, pool_ids: dict[str, str]) -> Outcome:
        client = ec2_client()
        try:
            params = resolve(job.params, pool_ids)
        except KeyError as missing:
            return Outcome(
                S.FAILED,
                error_code="plan_pool_missing",
                error_message=f"The pool of node {missing} was not created.",
            )
        try:
            if job.maybe_sent:
                found = self.recover(job, params, client)
                if found is not None:
                    return found
            if job.action in TOKENED:
                params["ClientToken"] = job.client_token
            response = call_aws(getattr(client, xform_name(job.action)), **params)
        except AwsUnavailable as err:
            return _unavailable(err, job, self.rng)
        except AwsRefused as err:
            if job.action not in TOKENED:
                # An answer lost on the way, and botocore sent the call again: AWS refuses a
                # second deprovision, delete or release, having done the first.
                try:
                    found = self.recover(job, params, client)
                except AwsError:
                    found = None
                if found is not None:
                    return found
            return Outcome(S.FAILED, error_code=err.code, error_message=err.message)
        except AwsError as err:
            return Outcome(S.FAILED, error_code=err.code, error_message=err.message)
        return self.answered(job, params, response)

    def answered(self, job: Job, params: dict[str, Any], response: dict[str, Any]) -> Outcome:
        out = Outcome(S.DONE, request_id=_request_id(response), answer=_plain(response), sent=True)
        pool = response.get("IpamPool")
        cidr = response.get("IpamPoolCidr")
        if pool is not None:
            out.pool, out.pool_id, out.state = pool, pool["IpamPoolId"], pool.get("State", "")
        elif cidr is not None:
            out.cidr, out.pool_id, out.state = cidr, params["IpamPoolId"], cidr.get("State", "")
        else:
            out.pool_id = params.get("IpamPoolId") or (params.get("Resources") or [""])[0]
        return self.settled(job, out)

    def settled(self, job: Job, out: Outcome) -> Outcome:
        """Done if the step waits for nothing or its state is reached; waiting while AWS is
        on its way there (or has not said); failed in any other state."""
        if not job.settles or out.state == job.settles:
            out.status = S.DONE
        elif out.state and out.state not in ON_THE_WAY.get(job.settles, ()):
            out.status = S.FAILED
            reason = (out.pool or {}).get("StateMessage") or (
                (out.cidr or {}).get("FailureReason") or {}
            ).get("Message", "")
            out.error_code = out.state
            out.error_message = reason or f"AWS ended it {out.state}."
        else:
            out.status = S.WAITING
            out.note = f"waiting for {job.settles} (now {out.state or 'unknown'})"
        return out

    # --- reading AWS before sending again -------------------------------------------------

    def recover(self, job: Job, params: dict[str, Any], client: Any) -> Outcome | None:
        """What AWS already did of a step that may have been sent: an outcome, or None when
        AWS has nothing of it (then it is sent)."""
        found = self._found(job, params, client)
        if found is not None:  # the journal keeps what was found, as the call's answer
            found.maybe_sent = False
            found.answer = {"FoundInAws": found.pool or found.cidr or {"IpamPoolId": found.pool_id}}
        return found

    def _found(self, job: Job, params: dict[str, Any], client: Any) -> Outcome | None:
        if job.action == "CreateIpamPool":
            pools = call_aws(
                client.describe_ipam_pools,
                Filters=[
                    {"Name": f"tag:{PLAN_TAG}", "Values": [str(job.plan_pk)]},
                    {"Name": f"tag:{NODE_TAG}", "Values": [job.node_key]},
                    {"Name": "ipam-scope-id", "Values": [params["IpamScopeId"]]},
                ],
                MaxResults=1000,
            )["IpamPools"]
            alive = [p for p in pools if p["State"] not in _ENDED]
            if not alive:
                return None
            pool = alive[0]
            out = Outcome(S.DONE, pool=pool, pool_id=pool["IpamPoolId"], state=pool["State"])
            out.note = "found in AWS"
            return self.settled(job, out)
        if job.action in ("ProvisionIpamPoolCidr", "DeprovisionIpamPoolCidr"):
            found = self._cidr(client, params["IpamPoolId"], params["Cidr"])
            wanted = (
                {CidrState.PENDING_PROVISION, CidrState.PROVISIONED}
                if job.action == "ProvisionIpamPoolCidr"
                else {CidrState.PENDING_DEPROVISION, CidrState.DEPROVISIONED}
            )
            if found is None or found["State"] not in wanted:
                return None
            out = Outcome(S.DONE, cidr=found, pool_id=params["IpamPoolId"], state=found["State"])
            return self.settled(job, out)
        if job.action == "DeleteIpamPool":
            pool = self._pool(client, params["IpamPoolId"])
            if pool is None:
                return Outcome(S.DONE, pool_id=params["IpamPoolId"], note="gone from AWS")
            if pool["State"] in (PoolState.DELETE_IN_PROGRESS, PoolState.DELETE_COMPLETE):
                out = Outcome(S.DONE, pool=pool, pool_id=pool["IpamPoolId"], state=pool["State"])
                return self.settled(job, out)
            return None
        if job.action == "ReleaseIpamPoolAllocation":
            try:
                allocations = call_aws(
                    client.get_ipam_pool_allocations,
                    IpamPoolId=params["IpamPoolId"],
                    IpamPoolAllocationId=params["IpamPoolAllocationId"],
                ).get("IpamPoolAllocations", [])
            except AwsRefused as err:  # an allocation released is not found [aws]
                if err.code not in (*POOL_NOT_FOUND_CODES, ALLOCATION_NOT_FOUND):
                    raise
                allocations = []
            if allocations:
                return None
            return Outcome(S.DONE, pool_id=params["IpamPoolId"], note="released in AWS")
        if job.action == "ModifyIpamPool":
            pool = self._pool(client, params["IpamPoolId"])
            return (
                Outcome(S.DONE, pool=pool, pool_id=pool["IpamPoolId"], state=pool["State"])
                if (pool is not None and _modified(pool, params))
                else None
            )
        return None  # CreateTags, DeleteTags: sending them again changes nothing more

    def _pool(self, client: Any, pool_id: str) -> dict[str, Any] | None:
        try:
            pools = call_aws(client.describe_ipam_pools, IpamPoolIds=[pool_id])["IpamPools"]
        except AwsRefused as err:
            if err.code in POOL_NOT_FOUND_CODES:
                return None
            raise
        return pools[0] if pools else None

    @staticmethod
    def _cidr(client: Any, pool_id: str, cidr: str) -> dict[str, Any] | None:
        found = call_aws(
            client.get_ipam_pool_cidrs,
            IpamPoolId=pool_id,
            Filters=[{"Name": "cidr", "Values": [cidr]}],
        )["IpamPoolCidrs"]
        live = [c for c in found if c["State"] != CidrState.DEPROVISIONED] or found
        return live[-1] if live else None

    # --- reading where waiting steps have got to ------------------------------------------

    def check_pools(self, jobs: list[Job]) -> dict[int, Outcome]:
        """One DescribeIpamPools for the pools of waiting steps (per batch of ids)."""
        client = ec2_client()
        outcomes: dict[int, Outcome] = {}
        for start in range(0, len(jobs), DESCRIBE_BATCH):
            batch = jobs[start : start + DESCRIBE_BATCH]
            try:
                found = self._pools(client, [j.pool_id for j in batch])
            except AwsError as err:
                for job in batch:
                    outcomes[job.pk] = self._read_failed(job, err)
                continue
            for job in batch:
                pool = found.get(job.pool_id)
                if pool is None:
                    if job.settles == PoolState.DELETE_COMPLETE:
                        outcomes[job.pk] = Outcome(S.DONE, pool_id=job.pool_id)
                    else:  # AWS lists a new pool a moment late (eventual consistency)
                        outcomes[job.pk] = Outcome(
                            S.WAITING, pool_id=job.pool_id, note="not listed yet"
                        )
                    continue
                out = Outcome(S.DONE, pool=pool, pool_id=job.pool_id, state=pool["State"])
                outcomes[job.pk] = self.settled(job, out)
        return outcomes

    def _pools(self, client: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
        try:
            pools = call_aws(client.describe_ipam_pools, IpamPoolIds=ids)["IpamPools"]
        except AwsRefused as err:
            if err.code not in POOL_NOT_FOUND_CODES or len(ids) == 1:
                if err.code in POOL_NOT_FOUND_CODES:
                    return {}
                raise
            pools = [p for pool_id in ids if (p := self._pool(client, pool_id)) is not None]
        return {p["IpamPoolId"]: p for p in pools}

    def check_cidr(self, job: Job) -> Outcome:
        try:
            found = self._cidr(ec2_client(), job.pool_id, job.params["Cidr"])
        except AwsError as err:
            return self._read_failed(job, err)
        if found is None:
            return Outcome(S.WAITING, pool_id=job.pool_id, note="not listed yet")
        out = Outcome(S.DONE, cidr=found, pool_id=job.pool_id, state=found["State"])
        return self.settled(job, out)

    def _read_failed(self, job: Job, err: AwsError) -> Outcome:
        if isinstance(err, AwsUnavailable):
            return Outcome(
                S.WAITING, pool_id=job.pool_id, delay=backoff(2, self.rng), note=err.message
            )
        return Outcome(
            S.FAILED, pool_id=job.pool_id, error_code=err.code, error_message=err.message
        )


def _modified(pool: dict[str, Any], params: dict[str, Any]) -> bool:
    """Whether the pool already has what ModifyIpamPool ``params`` ask (AWS refuses a modify
    that changes nothing)."""
    for member in ("Description", *_NETMASKS):
        if member in params and pool.get(member) != params[member]:
            return False
    if (
        params.get("ClearAllocationDefaultNetmaskLength")
        and "AllocationDefaultNetmaskLength" in pool
    ):
        return False
    tags = {(t["Key"], t.get("Value", "")) for t in pool.get("AllocationResourceTags", [])}
    added = {(t["Key"], t.get("Value", "")) for t in params.get("AddAllocationResourceTags", [])}
    removed = {
        (t["Key"], t.get("Value", "")) for t in params.get("RemoveAllocationResourceTags", [])
    }
    return added <= tags and not (removed - added) & tags


_NETMASKS = (
    "AllocationMinNetmaskLength",
    "AllocationMaxNetmaskLength",
    "AllocationDefaultNetmaskLength",
)
_ENDED = frozenset(
    {PoolState.CREATE_FAILED, PoolState.DELETE_IN_PROGRESS, PoolState.DELETE_COMPLETE}
)


# --- the driver -----------------------------------------------------------------------------


def _outcome_of(future: Future, pk: int) -> Outcome:
    """A finished call's or read's outcome for step ``pk``; an error that is not AWS's (a bug,
    an answer of an unexpected shape) fails the step, logged, instead of the driver."""
    try:
        result = future.result()
    except Exception as exc:
        log.exception("Step %s failed inside the engine", pk)
        return Outcome(
            S.FAILED, error_code="internal", error_message=f"{type(exc).__name__}: {exc}"
        )
    return result[pk] if isinstance(result, dict) else result


def _in_thread(func: Callable[..., Any], *args: Any) -> Any:
    """Run ``func`` with the caller's context (the worker's patience, the change log's
    origin) and close the thread's database connection after it."""
    try:
        return func(*args)
    finally:
        connections.close_all()


class Driver:
    """One driver of one run (see the module's docstring)."""

    def __init__(self, run_pk: int, *, seed: int | None = None) -> None:
        self.run_pk = run_pk
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.cap = max(1, settings.IPAM_APPLY_CONCURRENCY)
        self.threads = max(0, settings.IPAM_APPLY_THREADS)
        self.rng = random.Random(seed)
        self.steps = Steps(self.rng)
        self.lease = timedelta(seconds=settings.IPAM_APPLY_LEASE)
        self.settle_seen: dict[str, float] = {}  # settles -> the shortest time seen to reach it
        self.busy: dict[int, Future] = {}
        self.sent_at: dict[int, float] = {}
        self.renewed = 0.0
        run = ApplyRun.objects.select_related("plan").get(pk=run_pk)
        self.plan_pk = run.plan_id
        self.static = {
            pk: (step_id, waits)
            for pk, step_id, waits in run.steps.values_list("pk", "step_id", "waits_for")
        }

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> str:
        pool = ThreadPoolExecutor(max_workers=self.threads) if self.threads else None
        try:
            while True:
                if not connection.in_atomic_block:  # a long task: as a request would
                    close_old_connections()
                status = (
                    ApplyRun.objects.filter(pk=self.run_pk).values_list("status", flat=True).first()
                )
                if status != ApplyRun.Status.RUNNING:
                    self._drain()
                    if status == ApplyRun.Status.CANCELLED:
                        ApplyStep.objects.filter(
                            run=self.run_pk, owner=self.owner, status__in=ApplyStep.OPEN
                        ).update(status=S.CANCELLED, note="cancelled")
                    self._release()
                    return status or "gone"
                self._collect()
                claimed, waiting = self._turn()
                for job in claimed:
                    self._start(pool, job, self.steps.perform, job, self._pool_ids())
                self._check(pool, waiting)
                self._heartbeat()
                if self._finished():
                    return ApplyRun.Status.RUNNING
                self._idle()
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
            self._collect()

    def _idle(self) -> None:
        """Until a call or read of this driver comes back, or the next step falls due."""
        in_flight = {future for future in self.busy.values() if not future.done()}
        if in_flight:
            wait(in_flight, timeout=self._pause(), return_when=FIRST_COMPLETED)
        elif not self.busy:
            time.sleep(self._pause())

    def _start(self, pool: ThreadPoolExecutor | None, job: Job, func, *args: Any) -> None:
        keys = job.pks if isinstance(job, _Batch) else [job.pk]
        if func == self.steps.perform:  # a wait is timed from the call, not from a read
            self.sent_at[job.pk] = time.monotonic()
        if pool is None:
            future: Future = Future()
            try:
                future.set_result(func(*args))
            except Exception as exc:  # written as the step's failure by _collect
                future.set_exception(exc)
        else:
            context = contextvars.copy_context()
            future = pool.submit(context.run, _in_thread, func, *args)
        for pk in keys:
            self.busy[pk] = future
        if pool is None:
            self._collect()

    def _drain(self) -> None:
        wait(set(self.busy.values()))
        self._collect()

    def _pause(self) -> float:
        """Until the next step of this driver falls due, but not longer than a tick."""
        due = (
            ApplyStep.objects.filter(
                run=self.run_pk, status__in=ApplyStep.OPEN, next_at__isnull=False
            )
            .filter(Q(owner=self.owner) | Q(status=S.PENDING))
            .order_by("next_at")
            .values_list("next_at", flat=True)
            .first()
        )
        if due is None or len(self.busy) >= self.cap:  # nothing due, or no room to send it
            return TICK
        return min(TICK, max(0.02, (due - timezone.now()).total_seconds()))

    # --- claiming -------------------------------------------------------------------------

    def _turn(self) -> tuple[list[Job], list[Job]]:
        """Hold, take back and claim steps under the run's row lock; returns the steps to
        send and the waiting steps to read now."""
        now = timezone.now()
        with transaction.atomic():
            ApplyRun.objects.select_for_update().filter(pk=self.run_pk).first()
            rows = {
                pk: (status, next_at, owner, lease)
                for pk, status, next_at, owner, lease in ApplyStep.objects.filter(
                    run=self.run_pk
                ).values_list("pk", "status", "next_at", "owner", "lease_until")
            }
            status_of = {self.static[pk][0]: row[0] for pk, row in rows.items()}
            self._hold(rows, status_of, now)
            self._take_back(rows, now)
            in_flight = sum(1 for row in rows.values() if row[0] == S.RUNNING)
            ready = [
                pk
                for pk, (status, next_at, _, _) in sorted(rows.items())
                if status == S.PENDING
                and (next_at is None or next_at <= now)
                and pk not in self.busy
                and all(status_of.get(w) == S.DONE for w in self.static[pk][1])
            ]
            ready = ready[: max(0, self.cap - in_flight)]
            if ready:
                ApplyStep.objects.filter(pk__in=ready).update(
                    status=S.RUNNING,
                    owner=self.owner,
                    lease_until=now + self.lease,
                    note="sending",
                )
                ApplyStep.objects.filter(pk__in=ready, started_at__isnull=True).update(
                    started_at=now
                )
            waiting = [
                pk
                for pk, (status, next_at, owner, _) in rows.items()
                if status == S.WAITING
                and owner == self.owner
                and pk not in self.busy
                and (next_at is None or next_at <= now)
            ]
        return self._jobs(ready), self._jobs(waiting)

    def _hold(self, rows: dict, status_of: dict[str, str], now: datetime) -> None:
        """Steps waiting for a step that failed, was held or was cancelled are held, with the
        reason (in journal order, so a hold runs down a whole subtree in one pass)."""
        held: dict[int, str] = {}
        for pk in sorted(rows):
            if rows[pk][0] != S.PENDING:
                continue
            blocker = next(
                (
                    w
                    for w in self.static[pk][1]
                    if status_of.get(w) in (S.FAILED, S.HELD, S.CANCELLED)
                ),
                None,
            )
            if blocker is not None:
                held[pk] = blocker
                status_of[self.static[pk][0]] = S.HELD
                rows[pk] = (S.HELD, *rows[pk][1:])
        for pk, blocker in held.items():
            ApplyStep.objects.filter(pk=pk, status=S.PENDING).update(
                status=S.HELD, note=f"held: {blocker} did not succeed", finished_at=now
            )

    def _take_back(self, rows: dict, now: datetime) -> None:
        """Steps of a driver that stopped reporting: a step it was sending goes back to
        pending, to be read from AWS before it is sent again; a waiting step is read next."""
        for pk, (status, _, owner, lease) in rows.items():
            if status not in (S.RUNNING, S.WAITING) or owner == self.owner:
                continue
            if lease is not None and lease > now:
                continue
            if status == S.RUNNING:
                ApplyStep.objects.filter(pk=pk, status=S.RUNNING, owner=owner).update(
                    status=S.PENDING, maybe_sent=True, owner="", next_at=now, note="taken back"
                )
                rows[pk] = (S.PENDING, now, "", None)
            else:
                ApplyStep.objects.filter(pk=pk, status=S.WAITING, owner=owner).update(
                    owner=self.owner, lease_until=now + self.lease, next_at=now
                )
                rows[pk] = (S.WAITING, now, self.owner, now + self.lease)

    def _jobs(self, pks: list[int]) -> list[Job]:
        if not pks:
            return []
        fields = (
            "pk", "step_id", "node_key", "action", "params", "client_token",
            "maybe_sent", "pool_aws_id", "settles", "tries",
        )  # fmt: skip
        return [
            Job(*row[:7], pool_id=row[7], settles=row[8], tries=row[9], plan_pk=self.plan_pk)
            for row in ApplyStep.objects.filter(pk__in=pks).order_by("order").values_list(*fields)
        ]

    def _pool_ids(self) -> dict[str, str]:
        """Node key -> pool id, for the references of the steps sent now: the pools this run
        has created, and the nodes bound to live pools."""
        ids = dict(
            PlanNode.objects.filter(plan=self.plan_pk)
            .exclude(pool_aws_id="")
            .values_list("key", "pool_aws_id")
        )
        ids.update(
            ApplyStep.objects.filter(run=self.run_pk, action="CreateIpamPool")
            .exclude(pool_aws_id="")
            .values_list("node_key", "pool_aws_id")
        )
        return ids

    # --- reading waiting steps ------------------------------------------------------------

    def _check(self, pool: ThreadPoolExecutor | None, waiting: list[Job]) -> None:
        pool_jobs = [j for j in waiting if j.action not in _CIDR_ACTIONS]
        if pool_jobs:
            batch = _Batch(pool_jobs)
            self._start(pool, batch, self.steps.check_pools, pool_jobs)
        for job in waiting:
            if job.action in _CIDR_ACTIONS:
                self._start(pool, job, self.steps.check_cidr, job)

    # --- writing outcomes -----------------------------------------------------------------

    def _collect(self) -> None:
        """Write the outcomes of the calls and reads that have finished."""
        outcomes: dict[int, Outcome] = {}
        for pk, future in list(self.busy.items()):
            if future.done():
                del self.busy[pk]
                outcomes[pk] = _outcome_of(future, pk)
        if not outcomes:
            return
        with transaction.atomic():  # one commit for all of them
            steps = ApplyStep.objects.in_bulk(list(outcomes))
            pool_pks = self._mirror(outcomes.values())
            bound = False
            for pk, out in outcomes.items():
                step = steps.get(pk)
                if step is not None and step.owner == self.owner:
                    bound |= self._write(step, out, pool_pks)
            if bound:
                Plan.objects.filter(pk=self.plan_pk).update(updated_at=timezone.now())

    def _write(self, step: ApplyStep, out: Outcome, pool_pks: dict[str, int]) -> bool:
        """One step's outcome into the journal; whether it bound a node to its pool. A step
        another driver took back meanwhile is left to it (it reads AWS again itself)."""
        if step.status not in (S.RUNNING, S.WAITING):
            return False
        now, pk = timezone.now(), step.pk
        limit = settings.IPAM_APPLY_WAIT_SECONDS
        if (
            out.status == S.WAITING
            and step.started_at
            and (now - step.started_at).total_seconds() > limit
        ):
            out.status, out.error_code = S.FAILED, "not_settled"
            out.error_message = f"AWS did not get to {step.settles} in {limit:g} s ({out.note})."
        delay = out.delay
        if out.status == S.WAITING and delay is None:
            delay = self._expected(step.settles, pk)
        elif out.status == S.DONE and step.status == S.WAITING and pk in self.sent_at:
            self._learn(step.settles, step)
        changes: dict[str, Any] = {
            "status": out.status,
            "note": out.note,
            "next_at": now + timedelta(seconds=delay) if delay is not None else None,
        }
        if out.sent:
            changes.update(
                tries=step.tries + 1,
                request_id=out.request_id or step.request_id,
                answer=out.answer,
            )
        elif out.status == S.PENDING and out.error_code:
            changes["tries"] = step.tries + 1
        elif out.answer:
            changes["answer"] = out.answer
        if out.maybe_sent is not None:
            changes["maybe_sent"] = out.maybe_sent
        elif out.sent:
            changes["maybe_sent"] = False
        if out.pool_id and not step.pool_aws_id:
            changes["pool_aws_id"] = out.pool_id
        if out.state:
            changes["aws_state"] = out.state
        if out.error_code or out.status in (S.DONE, S.WAITING):
            changes["error_code"] = out.error_code
            changes["error_message"] = out.error_message
        if out.status == S.PENDING:
            changes["owner"] = ""
        if out.status in (S.DONE, S.FAILED):
            changes["finished_at"] = now
        if out.status == S.WAITING:
            self.sent_at.setdefault(pk, time.monotonic())
        else:
            self.sent_at.pop(pk, None)
        ApplyStep.objects.filter(pk=pk).update(**changes)
        if out.status == S.DONE:
            self._applied(step)
        if step.action == "CreateIpamPool" and out.pool_id and not step.pool_aws_id:
            # The node is bound to the pool the run created for it, as soon as AWS names it.
            PlanNode.objects.filter(plan=self.plan_pk, key=step.node_key).update(
                pool_aws_id=out.pool_id, pool_id=pool_pks.get(out.pool_id)
            )
            return True
        return False

    def _expected(self, settles: str, pk: int) -> float:
        """When to read a waiting step next: at first after the shortest time seen to reach
        its state this run (so the first read usually finds it done), then each poll."""
        seen = self.settle_seen.get(settles)
        poll = settings.IPAM_APPLY_POLL
        if seen is None:
            return poll
        waited = time.monotonic() - self.sent_at.get(pk, time.monotonic())
        return max(poll / 4, seen - waited) if waited < seen else poll

    def _learn(self, settles: str, step: ApplyStep) -> None:
        took = time.monotonic() - self.sent_at[step.pk]
        self.settle_seen[settles] = min(took, self.settle_seen.get(settles, took))

    def _mirror(self, outcomes: Iterable[Outcome]) -> dict[str, int]:
        """Keep the mirror in step with what AWS answered (in bulk); the pools' keys by id."""
        pools = {out.pool["IpamPoolId"]: out.pool for out in outcomes if out.pool is not None}
        cidrs = [(out.pool_id, out.cidr) for out in outcomes if out.cidr and out.pool_id]
        try:
            with transaction.atomic():  # a savepoint: a failure leaves the journal's writes
                pks = mirror.save_pools(list(pools.values())) if pools else {}
                if cidrs:
                    ids = [pool_id for pool_id, _ in cidrs]
                    rows = IpamPool.objects.in_bulk(ids, field_name="pool_id")
                    mirror.save_cidrs((rows[i], c) for i, c in cidrs if i in rows)
        except Exception:  # the mirror mends at the next sync; the journal must not wait
            log.exception("Could not mirror AWS's answers")
            return {}
        return pks

    def _applied(self, step: ApplyStep) -> None:
        """Once every step of a node is done, record what the node gave AWS (drift
        compares it with AWS later)."""
        open_steps = ApplyStep.objects.filter(run=self.run_pk, node_key=step.node_key).exclude(
            status=S.DONE
        )
        if open_steps.exists():
            return
        record_applied(self.plan_pk, step.node_key, self.run_pk)

    # --- liveness and the end -------------------------------------------------------------

    def _heartbeat(self) -> None:
        if time.monotonic() - self.renewed < min(HEARTBEAT, self.lease.total_seconds() / 3):
            return
        self.renewed = time.monotonic()
        now = timezone.now()
        ApplyStep.objects.filter(
            run=self.run_pk, owner=self.owner, status__in=(S.RUNNING, S.WAITING)
        ).update(lease_until=now + self.lease)
        ApplyRun.objects.filter(pk=self.run_pk).update(heartbeat_at=now)

    def _release(self) -> None:
        """Paused or cancelled: this driver's waiting steps are anyone's again."""
        ApplyStep.objects.filter(run=self.run_pk, owner=self.owner).update(
            owner="", lease_until=None
        )

    def _finished(self) -> bool:
        """No step is open, and no call of this driver in flight: the run can end."""
        return not self.busy and not (
            ApplyStep.objects.filter(run=self.run_pk, status__in=ApplyStep.OPEN).exists()
        )


_CIDR_ACTIONS = frozenset({"ProvisionIpamPoolCidr", "DeprovisionIpamPoolCidr"})


class _Batch:
    """The waiting pool steps read together in one DescribeIpamPools."""

    def __init__(self, jobs: list[Job]) -> None:
        self.pks = [j.pk for j in jobs]


__all__ = ["Driver", "backoff"]
