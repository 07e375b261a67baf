"""What an apply leaves behind: each node's record of what it gave AWS, and the run's end."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from planning import drift_services
from planning.models import ApplyRun, ApplyStep, Plan, PlanNode
from planning.teardown_services import finish_teardown
from pools import services as pool_services
from pools.aws import AwsError
from pools.models import IpamPool

log = logging.getLogger(__name__)
S = ApplyStep.Status

APPLIED_FIELDS = (
    "name",
    "cidr",
    "description",
    "min_netmask",
    "max_netmask",
    "default_netmask",
    "tags",
    "allocation_resource_tags",
)


def record_applied(plan_pk: int, key: str, run_pk: int) -> None:
    """Every step of node ``key`` is done: what the plan asked of its pool is what AWS has
    (the last applied state, the middle of drift's three-way comparison)."""
    node = PlanNode.objects.filter(plan=plan_pk, key=key).first()
    if node is None:
        return
    create = ApplyStep.objects.filter(run=run_pk, node_key=key, action="CreateIpamPool").first()
    applied = {name: getattr(node, name) for name in APPLIED_FIELDS}
    applied["cidr"] = str(node.cidr) if node.cidr else ""
    if create is not None:
        applied["locale"] = create.params.get("Locale", "")
    else:
        applied["locale"] = (node.applied or {}).get("locale", "")
    applied |= {"pool_id": node.pool_aws_id, "run": run_pk, "at": timezone.now().isoformat()}
    PlanNode.objects.filter(pk=node.pk).update(applied=applied)


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
    """The allocations the new pools took in their parents, into the mirror."""
    parents = set(
        IpamPool.objects.filter(
            pool_id__in=run.steps.filter(
                action__in=("ProvisionIpamPoolCidr", "DeleteIpamPool", "DeprovisionIpamPoolCidr"),
                status=S.DONE,
            ).values("pool_aws_id")
        )
        .exclude(source_pool=None)
        .values_list("source_pool_id", flat=True)
    )
    for pool in IpamPool.objects.live().filter(pk__in=parents):
        try:
            pool_services.pool_refresh_space(pool=pool)
        except AwsError as err:  # the next sync mends it
            log.warning("Could not read %s back: %s", pool.pool_id, err.code)
