"""Fixtures of the planner's integration tests: the demo IPAM, and plans in its private scope."""

from __future__ import annotations

import pytest
from netaddr import IPNetwork

from planning import runs, services
from planning.models import ApplyRun, Plan
from planning.spec import NodeSpec
from pools.models import IpamScope


@pytest.fixture
def private_scope(demo) -> IpamScope:
    return IpamScope.objects.get(scope_type="private", is_default=True)


@pytest.fixture
def make_plan(private_scope):
    def make(name: str = "plan", *, space: str = "172.16.0.0/12", nodes=(), **kwargs) -> Plan:
        return services.plan_create(
            ipam=private_scope.ipam,
            scope=private_scope,
            address_family=kwargs.pop("address_family", "ipv4"),
            name=name,
            space=[IPNetwork(space)] if space else [],
            nodes=nodes,
            **kwargs,
        ).plan

    return make


def node(key: str, name: str | None = None, parent: str | None = None, **kwargs) -> NodeSpec:
    return NodeSpec(key=key, name=name or key, parent=parent, **kwargs)


@pytest.fixture(autouse=True)
def apply_inline(settings) -> None:
    """The apply engine sends its calls itself, inside the test's transaction."""
    settings.IPAM_APPLY_THREADS = 0
    settings.IPAM_APPLY_DRIVERS = 1
    settings.IPAM_APPLY_POLL = 0.05


@pytest.fixture
def apply(django_capture_on_commit_callbacks, worker):
    """Start a run of the plan and let the worker drive it."""

    def go(plan, **kwargs) -> ApplyRun:
        with django_capture_on_commit_callbacks(execute=True):
            run = runs.start(plan, **kwargs)
        worker()
        run.refresh_from_db()
        return run

    return go
