"""Applying a plan: start a run, pause, resume and cancel it; the task that drives it.

:func:`start` writes the whole journal in one transaction (from the plan's diff, or from its
reverse for a teardown) and queues ``IPAM_APPLY_DRIVERS`` drivers once it is committed.
The first driver to begin reads the plan's space from AWS before any call: if AWS changed
there since the run's snapshot (the mirror when the plan was checked), the run stops as
stale and asks for a re-check (:func:`begin`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from awsipam.choices import ENDED_POOL_STATES
from planning import diff as plan_diff
from planning import drift_services, services
from planning.applied import finish
from planning.engine import Driver, backoff
from planning.journal import NODE_TAG, PLAN_TAG, snapshot_changes, space_snapshot, steps_of
from planning.models import ApplyRun, ApplyStep, Plan
from planning.selectors import load, world
from planning.services import PlanError
from planning.teardown import reverse
from pools import changelog, mirror
from pools import services as pool_services
from pools.aws import (
    AwsError,
    AwsRefused,
    AwsUnavailable,
    ec2_client,
    pages,
    worker_patience,
)
from pools.aws.errors import POOL_NOT_FOUND_CODES
from pools.models import IpamPool, Origin

try:  # Django 6
    from django.tasks import task
except ImportError:  # Django 5.2: the backport
    from django_tasks import task

log = logging.getLogger(__name__)
T = TypeVar("T")
S = ApplyStep.Status
R = ApplyRun.Status


def active_run(plan: Plan) -> ApplyRun | None:
    return plan.runs.filter(status__in=ApplyRun.ACTIVE).first()


def _steps(plan: Plan, kind: str, cascade: bool):
    """The plan's diff (or its reverse) against the mirror, and the mirror's snapshot."""
    spec, _ = load(plan)
    live = world(plan, spec)
    if kind == ApplyRun.Kind.TEARDOWN:
        result = reverse(spec, live, cascade=cascade)
    else:
        result = plan_diff.diff(spec, live, plan.findings)
    return spec, live, result


def start(
    plan: Plan, *, user=None, kind: str = ApplyRun.Kind.APPLY, cascade: bool = False
) -> ApplyRun:
    """Start applying ``plan`` (re-checked first if it changed or AWS was read since it was
    checked). Refuses a plan with errors, one with nothing to do, and a second run."""
    if not plan.is_validated or services.is_stale(plan):
        plan = services.plan_validate(plan).plan
    with transaction.atomic():
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        if active_run(plan) is not None:
            raise PlanError("This plan is being applied already.", code="run_active")
        if plan.status == Plan.Status.ARCHIVED:
            raise PlanError("An archived plan is not applied.", code="plan_archived")
        spec, live, result = _steps(plan, kind, cascade)
        if result.plan_reasons:
            reasons = "; ".join(r.message for r in result.plan_reasons[:3])
            raise PlanError(f"The plan has errors: {reasons}", code="plan_has_errors")
        if not result.steps:
            blocked = result.counts.get("blocked", 0)
            if blocked:
                raise PlanError(
                    f"Nothing can be applied: {blocked} node{'s' if blocked != 1 else ''} "
                    "blocked (What AWS would do says why).",
                    code="plan_blocked",
                )
            raise PlanError("Nothing to do: AWS already has what the plan says.", code="nothing")
        attempt = ApplyRun.objects.filter(plan=plan, kind=kind, version=plan.version).count() + 1
        try:
            with transaction.atomic():
                run = ApplyRun.objects.create(
                    plan=plan,
                    kind=kind,
                    version=plan.version,
                    attempt=attempt,
                    cascade=cascade,
                    world=space_snapshot(live),
                    created_by=user if getattr(user, "is_authenticated", False) else None,
                )
        except IntegrityError:  # a second click, at the same moment
            raise PlanError("This plan is being applied already.", code="run_active") from None
        names = {n.key: n.name for n in spec.nodes}
        ApplyStep.objects.bulk_create(steps_of(run, result.steps, names), batch_size=500)
        Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.APPLYING)
        transaction.on_commit(lambda: enqueue(run))
    return run


def reapply(plan: Plan, *, user=None) -> ApplyRun:
    """Apply the plan again to mend its drift: the diff asks AWS for the plan's values back."""
    return start(drift_services.check_reapply(plan), user=user)


def enqueue(run: ApplyRun) -> None:
    for _ in range(max(1, settings.IPAM_APPLY_DRIVERS)):
        drive_apply.enqueue(run.pk)


def pause(run: ApplyRun) -> ApplyRun:
    """No new call is sent; calls in flight finish, and what waits stays in AWS's hands."""
    ApplyRun.objects.filter(pk=run.pk, status__in=(R.QUEUED, R.RUNNING)).update(status=R.PAUSED)
    return ApplyRun.objects.get(pk=run.pk)


def is_stalled(run: ApplyRun) -> bool:
    """Running, but no driver has reported for longer than a lease (its worker was killed)."""
    if run.status != R.RUNNING:
        return False
    lease = timedelta(seconds=settings.IPAM_APPLY_LEASE)
    last = run.heartbeat_at or run.started_at or run.created_at
    return timezone.now() - last > lease


def resume(run: ApplyRun) -> ApplyRun:
    """Go on with a paused (or stalled) run: every step that may have been sent, and every
    waiting step, is read from AWS before anything else is sent."""
    with transaction.atomic():
        run = ApplyRun.objects.select_for_update().get(pk=run.pk)
        if run.status != R.PAUSED and not is_stalled(run):
            return run
        now = timezone.now()
        lapsed = Q(lease_until__lt=now) | Q(lease_until=None) | Q(owner="")
        # A driver still finishing its calls (a pause a moment ago) keeps them.
        run.steps.filter(lapsed, status=S.RUNNING).update(
            status=S.PENDING, maybe_sent=True, owner="", next_at=now, note="resumed: reading AWS"
        )
        run.steps.filter(lapsed, status=S.WAITING).update(owner="", lease_until=None, next_at=now)
        run.status = R.RUNNING if run.started_at else R.QUEUED
        run.heartbeat_at = now
        run.save(update_fields=["status", "heartbeat_at"])
        transaction.on_commit(lambda: enqueue(run))
    return run


def cancel(run: ApplyRun) -> ApplyRun:
    """Stop for good: nothing more is sent or followed. What AWS has made stays (a teardown
    plan removes it); the plan is a draft again, and applying it once more asks AWS afresh."""
    with transaction.atomic():
        run = ApplyRun.objects.select_for_update().get(pk=run.pk)
        if run.status not in ApplyRun.ACTIVE:
            return run
        now = timezone.now()
        run.steps.filter(status__in=(S.PENDING, S.WAITING)).update(
            status=S.CANCELLED, note="cancelled", finished_at=now, owner=""
        )
        # A call in flight is left to its driver, which writes its answer (and binds the
        # node to a new pool) before it stops; a dead driver's is cancelled as it may be.
        run.steps.filter(status=S.RUNNING).filter(
            Q(lease_until__lt=now) | Q(lease_until=None)
        ).update(status=S.CANCELLED, note="cancelled: it may have reached AWS", finished_at=now)
        run.status, run.finished_at = R.CANCELLED, now
        run.save(update_fields=["status", "finished_at"])
        Plan.objects.filter(pk=run.plan_id).update(status=Plan.Status.DRAFT, updated_at=now)
    return run


# --- the task -------------------------------------------------------------------------------


@task()
def drive_apply(run_pk: int) -> str:
    """Drive a run until no step is open (see :mod:`planning.engine`); any number of these
    may run at once, on any workers."""
    with worker_patience(), changelog.origin(Origin.WORKER):
        if not begin(run_pk):
            return ApplyRun.objects.filter(pk=run_pk).values_list("status", flat=True).first()
        status = Driver(run_pk).run()
        if status == R.RUNNING:  # no step open any more
            status = finish(run_pk).status
        return status


def begin(run_pk: int) -> bool:
    """Whether the run may make calls: a queued run first passes the stale-plan guard."""
    run = ApplyRun.objects.select_related("plan", "plan__ipam", "plan__scope").get(pk=run_pk)
    if run.status == R.RUNNING:
        return True
    if run.status != R.QUEUED:
        return False
    problem, changes, ours = "", [], {}
    try:
        ours = _patiently(owned_pools, run)
        changes = aws_changes(run, ours)
    except AwsError as err:
        problem = f"AWS could not be read before the first call: {err.message}"
    with transaction.atomic():
        run = ApplyRun.objects.select_for_update().get(pk=run_pk)
        if run.status != R.QUEUED:
            return run.status == R.RUNNING
        now = timezone.now()
        if changes or problem:
            run.status, run.finished_at = R.STALE, now
            run.message = problem or (
                "AWS changed in the plan's space since the plan was checked; nothing was sent. "
                "Check the plan again, then apply it.\n" + "\n".join(changes[:50])
            )
            run.steps.filter(status=S.PENDING).update(status=S.CANCELLED, note="not started")
            Plan.objects.filter(pk=run.plan_id).update(status=Plan.Status.DRAFT, updated_at=now)
        else:
            run.status, run.started_at, run.heartbeat_at = R.RUNNING, now, now
            # Pools an earlier run made for unbound nodes (its answer lost, then cancelled):
            # their steps look in AWS first, and take those pools instead of making more.
            if run.kind == ApplyRun.Kind.APPLY:
                run.steps.filter(node_key__in=list(ours), status=S.PENDING).update(maybe_sent=True)
        run.save(update_fields=["status", "started_at", "finished_at", "message", "heartbeat_at"])
    return run.status == R.RUNNING


def owned_pools(run: ApplyRun) -> dict[str, str]:
    """The live pools in AWS tagged with this plan, by node key (one paged read)."""
    client = ec2_client()
    found = {}
    for page in pages(
        client.describe_ipam_pools,
        "IpamPools",
        Filters=[
            {"Name": f"tag:{PLAN_TAG}", "Values": [str(run.plan_id)]},
            {"Name": "ipam-scope-id", "Values": [run.plan.scope.scope_id]},
        ],
        MaxResults=1000,
    ):
        for pool in page:
            tags = {t["Key"]: t.get("Value", "") for t in pool.get("Tags", [])}
            if pool["State"] not in ENDED_POOL_STATES and tags.get(NODE_TAG):
                found[tags[NODE_TAG]] = pool["IpamPoolId"]
    return found


def aws_changes(run: ApplyRun, ours: dict[str, str]) -> list[str]:
    """What AWS has changed in the plan's space since the run's snapshot: the space read
    from AWS into the mirror (each read retried when AWS throttles), and the two snapshots
    compared. The plan's own pools (``ours``) are no change."""
    plan = run.plan
    spec, _ = load(plan)
    before = world(plan, spec)
    for pool in IpamPool.objects.filter(pool_id__in=list(before.pools)):
        _patiently(_refresh, pool)
    if not spec.parent_pool_id:
        for pool in _patiently(_read_top_level, plan):
            _patiently(pool_services.pool_refresh_space, pool=pool)
    changes = snapshot_changes(run.world, space_snapshot(world(plan, spec)))
    # Pools of this plan that no node is bound to: an earlier run's, which this one takes.
    strays = set(ours.values()) - {n.pool_id for n in spec.nodes if n.pool_id}
    return [line for line in changes if not strays.intersection(line.split())]


def _patiently(read: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A read of AWS, tried again with a backoff while AWS throttles or does not answer."""
    for tries in range(1, settings.IPAM_APPLY_MAX_TRIES):
        try:
            return read(*args, **kwargs)
        except AwsUnavailable:
            time.sleep(backoff(tries))
    return read(*args, **kwargs)


def _refresh(pool: IpamPool) -> None:
    try:
        pool_services.pool_refresh(pool=pool)
    except AwsRefused as err:  # gone: the mirror forgot it, and the snapshots differ
        if err.code not in POOL_NOT_FOUND_CODES:
            raise


def _read_top_level(plan: Plan) -> list[IpamPool]:
    """The scope's top-level pools, from AWS into the mirror; returns those to read the
    CIDRs of."""
    client = ec2_client()
    listed = [
        p
        for page in pages(
            client.describe_ipam_pools,
            "IpamPools",
            Filters=[{"Name": "ipam-scope-id", "Values": [plan.scope.scope_id]}],
            MaxResults=1000,
        )
        for p in page
        if not p.get("SourceIpamPoolId")
    ]
    mirror.save_pools(listed)
    ids = {p["IpamPoolId"] for p in listed}
    gone = IpamPool.objects.live().filter(scope=plan.scope, source_pool_aws_id="")
    mirror.forget_pools(gone.exclude(pool_id__in=ids).values_list("pk", flat=True))
    return [pool for pool in IpamPool.objects.live().filter(pool_id__in=ids) if pool.in_aws]
