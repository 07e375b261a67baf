"""The periodic sync: queued once, run by the worker, which queues the next; what it finds that
the app did not do is in the change log as changed outside ipamui."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from pools import tasks
from pools.models import Change, IpamPool, Origin, ScheduledSync

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_minute(settings):
    settings.IPAM_SYNC_INTERVAL = 60


@pytest.mark.usefixtures("every_minute")
def test_one_sync_waits_at_a_time(demo, worker):
    first = tasks.schedule_sync()
    assert tasks.schedule_sync() == first  # a second start-up queues nothing more
    call_command("ipam_sync", "--schedule", verbosity=0)
    assert ScheduledSync.objects.filter(started_at__isnull=True).count() == 1

    assert worker(limit=1) == 1

    first.refresh_from_db()
    assert first.started_at
    assert first.finished_at
    assert not first.error
    assert any("pools:" in line for line in first.report)
    following = ScheduledSync.objects.get(started_at__isnull=True)
    assert following.run_after > first.run_after


@pytest.mark.usefixtures("every_minute")
def test_it_records_outside_changes(demo, worker, sim):
    pool = IpamPool.objects.get(name="corporate")
    sim.call("ModifyIpamPool", IpamPoolId=pool.pool_id, Description="changed in the console")
    tasks.schedule_sync()

    worker(limit=1)

    pool.refresh_from_db()
    assert pool.description == "changed in the console"
    change = Change.objects.get(pool_aws_id=pool.pool_id, action=Change.Action.UPDATE)
    assert change.origin == Origin.OUTSIDE


@pytest.mark.usefixtures("every_minute")
def test_a_run_that_ran_already_does_nothing(demo):
    run = tasks.schedule_sync()
    tasks.periodic_sync.call(run.pk)
    finished = ScheduledSync.objects.get(pk=run.pk).finished_at
    assert tasks.periodic_sync.call(run.pk) == {"lines": []}
    assert ScheduledSync.objects.get(pk=run.pk).finished_at == finished


@pytest.mark.usefixtures("every_minute")
def test_aws_unreachable_is_recorded_and_the_next_is_queued(demo, sim):
    run = tasks.schedule_sync()
    sim.faults.unreachable = True
    tasks.periodic_sync.call(run.pk)
    run.refresh_from_db()
    assert run.error
    assert ScheduledSync.objects.filter(started_at__isnull=True).exists()


def test_off_when_the_interval_is_zero(settings, demo):
    settings.IPAM_SYNC_INTERVAL = 0
    assert tasks.schedule_sync() is None
    assert not ScheduledSync.objects.exists()


@pytest.mark.usefixtures("every_minute")
def test_the_database_keeps_one_waiting_run_per_region(demo):
    tasks.schedule_sync()
    with pytest.raises(IntegrityError), transaction.atomic():
        ScheduledSync.objects.create(region="us-east-1", run_after=timezone.now())


@pytest.mark.usefixtures("every_minute")
def test_a_run_that_breaks_still_queues_the_next(demo, monkeypatch):
    run = tasks.schedule_sync()

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(tasks, "sync_all", broken)
    with pytest.raises(RuntimeError):
        tasks.periodic_sync.call(run.pk)
    run.refresh_from_db()
    assert run.error == "RuntimeError: a bug"
    assert ScheduledSync.objects.filter(started_at__isnull=True).exists()
