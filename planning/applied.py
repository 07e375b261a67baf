"""The end of a run: its status, the plan's, the mirror read back, drift looked at again."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from planning import drift_services
from planning.models import ApplyRun, ApplyStep, Plan
from planning.teardown_services import finish_teardown
from pools import services as pool_services
from pools.aws import AwsError
from pools.models import IpamPool

log = logging.getLogger(__name__)
S = ApplyStep.Status


def finish(run_pk: int) -> ApplyRun:
    """No step is open any more: the run ends done, or done with failures; the plan is
    applied (or a draft again, to be fixed and applied once more); the mirror reads back the
    space of the pools that took new children."""
    with transaction.atomic():
        run = ApplyRun.objects.select_for_update().select_related("plan").get(pk=run_pk)
        if run.status != ApplyRun.Status.RUNNING:
            return run
        counts = run.steps.aggregate(
            bad=Count("pk", filter=Q(status__in=(S.FAILED, S.HELD, S.CANCELLED)))
        )
        run.status = ApplyRun.Status.FAILED if counts["bad"] else ApplyRun.Status.DONE
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "finished_at"])
        if run.kind == ApplyRun.Kind.TEARDOWN or run.status == ApplyRun.Status.FAILED:
            status = Plan.Status.DRAFT
        else:
            status = Plan.Status.APPLIED
        Plan.objects.filter(pk=run.plan_id).update(status=status, updated_at=timezone.now())
    _read_back_parents(run)
    finish_teardown(run)
    drift_services.refresh_quietly(run.plan_id)  # never fails the run
    return run


def _read_back_parents(run: ApplyRun) -> None:
    """The allocations the run's pools took in (or gave back to) their parents, into the
    mirror: one read of allocations per parent (their CIDRs did not change)."""
    changed = run.steps.filter(
        action__in=("ProvisionIpamPoolCidr", "DeleteIpamPool", "DeprovisionIpamPoolCidr"),
        status=S.DONE,
    ).values("pool_aws_id")
    parent_ids = IpamPool.objects.filter(pool_id__in=changed).values("source_pool_aws_id")
    for pool in IpamPool.objects.live().filter(pool_id__in=parent_ids):
        try:
            pool_services.pool_refresh_allocations(pool=pool)
        except AwsError as err:  # the next sync mends it
            log.warning("Could not read %s back: %s", pool.pool_id, err.code)
