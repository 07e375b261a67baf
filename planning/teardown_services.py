"""The end of a teardown run, in the database: what :mod:`planning.teardown` decided, done."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from awsipam.choices import GONE_STATES
from planning.models import ApplyRun, ApplyStep, Plan, PlanNode
from planning.teardown import unbound_after
from pools import mirror
from pools import services as pool_services
from pools.aws import AwsError, AwsRefused
from pools.aws.errors import POOL_NOT_FOUND_CODES
from pools.models import IpamPool

log = logging.getLogger(__name__)


def finish_teardown(run: ApplyRun) -> list[str]:
    """The nodes whose pools the run deleted (and, after a cascade, the nodes below them)
    are unbound; the mirror reads the deleted pools back from AWS. Returns the keys unbound.

    A pool AWS reports ``delete-complete`` (or no longer has) is forgotten with its
    descendants; one still ``delete-in-progress`` is left to the next sync."""
    if run.kind != ApplyRun.Kind.TEARDOWN:
        return []
    done = run.steps.filter(action="DeleteIpamPool", status=ApplyStep.Status.DONE)
    deleted = dict(done.values_list("node_key", "params__IpamPoolId"))
    parents = dict(PlanNode.objects.filter(plan=run.plan_id).values_list("key", "parent__key"))
    keys = set(unbound_after(parents, deleted, cascade=run.cascade)) if deleted else set()
    # Nodes bound to pools AWS had already deleted before the run (no step of theirs).
    live = IpamPool.objects.live().exclude(state__in=GONE_STATES).values("pool_id")
    keys |= set(
        PlanNode.objects.filter(plan=run.plan_id)
        .exclude(pool_aws_id="")
        .exclude(pool_aws_id__in=live)
        .values_list("key", flat=True)
    )
    if not keys:
        return []
    with transaction.atomic():
        PlanNode.objects.filter(plan=run.plan_id, key__in=keys).update(
            pool_aws_id="", pool=None, applied={}
        )
        Plan.objects.filter(pk=run.plan_id).update(updated_at=timezone.now())
    _read_back(deleted.values())
    return sorted(keys)


def _read_back(pool_ids) -> None:
    gone = []
    for pool in IpamPool.objects.live().filter(pool_id__in=list(pool_ids)):
        try:
            pool = pool_services.pool_refresh(pool=pool)
        except AwsRefused as err:
            if err.code not in POOL_NOT_FOUND_CODES:  # not found: pool_refresh forgot it
                log.warning("Could not read %s back: %s", pool.pool_id, err.code)
            continue
        except AwsError as err:  # the next sync mends it
            log.warning("Could not read %s back: %s", pool.pool_id, err.code)
            continue
        if pool.state in GONE_STATES:
            gone.append(pool.pk)
    mirror.forget_pools(gone)
