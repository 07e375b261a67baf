"""Every test talks to a fresh in-process local IPAM endpoint, never to AWS."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from django.contrib.contenttypes.models import ContentType
from django_tasks import task_backends
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

import ipamsim
from ipamsim.seed import seed_demo
from pools.aws import reset_clients
from pools.aws.embedded import use_simulator

# Hypothesis: the normal run ("ci") tries the same few dozen examples per property every time
# (derandomized, as Hypothesis's own ci profile), so it never fails by chance; with
# HYPOTHESIS_PROFILE=fuzz (make fuzz) it tries many more, new ones each run, and keeps failing
# examples in .hypothesis/ to try them first next time. A property shares its test's fixtures
# (database, simulator) across examples, on purpose: state accumulates.
_FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
hypothesis_settings.register_profile(
    "ci",
    parent=hypothesis_settings.get_profile("ci"),
    max_examples=25,
    deadline=None,
    suppress_health_check=_FIXTURES,
)
hypothesis_settings.register_profile(
    "fuzz", max_examples=2000, deadline=None, suppress_health_check=_FIXTURES
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def fresh_content_types() -> None:
    """A test database flushed by a transactional test has new content type ids, which the
    change log's entries name: forget the ids of the last one."""
    ContentType.objects.clear_cache()


@pytest.fixture(autouse=True)
def tasks_kept(settings) -> None:
    """Tasks are kept, not run: a test runs them with the ``worker`` fixture."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def worker(tasks_kept) -> Callable[[], int]:
    """``worker()`` runs every kept task, and those they enqueue, as the task worker would
    (without the waits between runs); returns how many ran."""

    def work(limit: int = 200) -> int:
        backend = task_backends["default"]
        ran = 0
        while backend.results and ran < limit:
            result = backend.results.pop(0)
            result.task.call(*result.args, **result.kwargs)
            ran += 1
        return ran

    return work


@pytest.fixture(autouse=True)
def sim(settings) -> ipamsim.Simulator:
    """The local endpoint the app's EC2 client talks to during this test (no create delay;
    the account's quota of IPAMs per Region raised, so a test may make several)."""
    settings.IPAM_BACKEND = "embedded"
    settings.IPAM_REGION = "us-east-1"
    simulator = ipamsim.Simulator(ipamsim.Config(create_delay=0, max_ipams_per_region=10))
    use_simulator(simulator)
    reset_clients()
    yield simulator
    use_simulator(None)
    reset_clients()


@pytest.fixture
def demo(sim: ipamsim.Simulator, db) -> ipamsim.Simulator:
    """The demo IPAM, seeded in the endpoint and synced into the database."""
    from pools.sync import sync_all

    seed_demo(sim, showcase=False)
    sync_all()
    return sim
