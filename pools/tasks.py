"""Work that waits on AWS, on the task worker (``manage.py db_worker``), never in a request.

Django's tasks API: ``django.tasks`` from Django 6, the ``django_tasks`` backport before it,
with the database backend of ``django-tasks-db`` (workers on any machine sharing the database).
Each task takes ids, reads AWS before it writes, and may run twice: its AWS calls carry client
tokens derived from what they do, so a retry repeats nothing.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from pools import changelog, selectors, services
from pools.aws import AwsError, AwsRefused, worker_patience
from pools.aws.errors import POOL_NOT_FOUND_CODES
from pools.models import IpamPool, Origin, ScheduledSync
from pools.sync import sync_all
from pools.taskstate import task_state

try:  # Django 6
    from django.tasks import task, task_backends
except ImportError:  # Django 5.2: the backport
    from django_tasks import task, task_backends

log = logging.getLogger(__name__)

FOLLOWED = "followed"  # the pool settled, or the time to follow it ran out
GONE = "gone"  # AWS no longer has the pool


def follow(pool: IpamPool) -> str:
    """Start following ``pool`` until AWS is done with it, unless a task already does (a
    double click starts one); returns the task's id."""
    current = task_state(pool.follow_task_id)
    if current is not None and current["status"] in ("READY", "RUNNING"):
        return pool.follow_task_id
    until = (timezone.now() + timedelta(seconds=settings.IPAM_FOLLOW_SECONDS)).isoformat()
    result = follow_pool.enqueue(pool.pk, until)
    IpamPool.objects.filter(pk=pool.pk).update(follow_task_id=str(result.id))
    return str(result.id)


@task()
def follow_pool(pool_pk: int, until: str) -> str:
    """Read the pool from AWS until nothing about it is settling any more: its state, its
    CIDRs, the first CIDR asked for at creation (provisioned here once the pool is usable), a
    deletion and the descendants it takes along. Each run reads once; while the pool still
    settles it runs again a moment later, until ``until`` (ISO time)."""
    pool = IpamPool.objects.filter(pk=pool_pk).first()
    if pool is None:
        return GONE
    error = ""
    with worker_patience(), changelog.origin(Origin.WORKER):
        try:
            pool = services.pool_refresh(pool=pool)
        except AwsRefused as err:
            if err.code in POOL_NOT_FOUND_CODES:
                return GONE
            error = err.message
        except AwsError as err:  # unreachable or throttled: try again on the next run
            error = err.message
        if not error:
            try:
                services.pool_provision_first_cidr(pool=pool)
                if pool.is_deleting:
                    services.refresh_descendants(pool)
                if pool.source_pool is not None:  # its space changed with this pool's
                    services.pool_refresh_space(pool=pool.source_pool)
            except AwsError as err:  # a refused first CIDR is recorded on its creation
                error = err.message
    if error:
        log.warning("Following %s: %s", pool.pool_id, error)
    IpamPool.objects.filter(pk=pool_pk).update(follow_error=error)
    pool = selectors.pool_with_space().get(pk=pool_pk)
    still = selectors.pool_page(pool)["settling"]
    if still and timezone.now() < datetime.fromisoformat(until):
        _again(pool_pk, until)
        return "following"
    return FOLLOWED


def _again(pool_pk: int, until: str) -> None:
    """Run again after ``IPAM_FOLLOW_INTERVAL``: deferred on a real backend; a backend that
    cannot defer (one that runs tasks at once, as in tests) waits here instead."""
    interval = settings.IPAM_FOLLOW_INTERVAL
    queued = follow_pool
    if task_backends[follow_pool.backend].supports_defer:
        queued = follow_pool.using(run_after=timezone.now() + timedelta(seconds=interval))
    else:
        time.sleep(interval)
    IpamPool.objects.filter(pk=pool_pk).update(
        follow_task_id=str(queued.enqueue(pool_pk, until).id)
    )


@task()
def sync_region() -> dict[str, Any]:
    """Read everything of the configured Region from AWS into the mirror (``ipam_sync``)."""
    with worker_patience():
        report = sync_all()
    return {"lines": report.lines()}


def schedule_sync() -> ScheduledSync | None:
    """Queue the next periodic sync, ``IPAM_SYNC_INTERVAL`` from now, unless one is waiting
    (``ipam_sync --schedule`` at start-up, and each run for the next); None when the periodic
    sync is off or the task backend cannot run a task later.

    The row and its task are written in one transaction (the task queue is in the database),
    and a partial unique index keeps one waiting row per Region, whoever asks at once.
    """
    interval = settings.IPAM_SYNC_INTERVAL
    if interval <= 0 or not task_backends[periodic_sync.backend].supports_defer:
        return None
    waiting = ScheduledSync.objects.filter(region=settings.IPAM_REGION, started_at__isnull=True)
    if current := waiting.first():
        return current
    try:
        with transaction.atomic():
            run = ScheduledSync.objects.create(
                region=settings.IPAM_REGION,
                run_after=timezone.now() + timedelta(seconds=interval),
            )
            result = periodic_sync.using(run_after=run.run_after).enqueue(run.pk)
            run.task_id = str(result.id)
            run.save(update_fields=["task_id"])
    except IntegrityError:  # another process queued it first
        return waiting.first()
    return run


@task()
def periodic_sync(run_pk: int) -> dict[str, Any]:
    """One periodic sync: what it finds in AWS that the app did not do is recorded in the
    change log as changed outside ipamui. A second run of the same one does nothing."""
    started = ScheduledSync.objects.filter(pk=run_pk, started_at__isnull=True).update(
        started_at=timezone.now()
    )
    if not started:
        return {"lines": []}
    lines, error = [], ""
    try:
        with worker_patience():
            lines = sync_all().lines()
    except AwsError as err:  # AWS unreachable or refusing: the next run tries again
        error = err.message
    except Exception as err:  # recorded and raised; the next run is queued all the same
        error = f"{type(err).__name__}: {err}"
        raise
    finally:
        ScheduledSync.objects.filter(pk=run_pk).update(
            finished_at=timezone.now(), report=lines, error=error
        )
        schedule_sync()
    return {"lines": lines, "error": error}
