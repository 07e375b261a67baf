"""Applying a plan in Chromium: started from the plan's page, its journal to the end, the
plan bound to its new pools; then the teardown previewed, confirmed and carried out."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from planning.models import ApplyRun, Plan
from tests.browser.conftest import App
from tests.integration.planning import conftest as planning_fixtures
from tests.integration.planning.conftest import node

pytestmark = pytest.mark.browser

private_scope = planning_fixtures.private_scope
make_plan = planning_fixtures.make_plan


@pytest.fixture(autouse=True)
def apply_in_the_request(settings: Any) -> None:
    """The server runs the apply's task as it is enqueued (see ``tasks_run_at_once``), its
    calls sent by the driver itself: the live server shares one database connection."""
    settings.IPAM_APPLY_THREADS = 0
    settings.IPAM_APPLY_DRIVERS = 1
    settings.IPAM_APPLY_POLL = 0.05


@pytest.fixture
def plan(make_plan) -> Plan:
    return make_plan(
        "browser-apply",
        nodes=[
            node("top", "corp", prefix_length=16, locale="us-east-1"),
            node("eu", "region-a", "top", prefix_length=18),
            node("euprod", "a-prod", "eu", prefix_length=20),
        ],
    )


def test_a_plan_is_applied_and_torn_down(app: App, plan: Plan, shot: Any) -> None:
    page = app.page
    app.goto(f"/plans/{plan.pk}/")
    expect(page.locator("#apply-card")).to_contain_text("Not applied to AWS yet")
    page.locator("#apply-button").click()

    page.wait_for_url(f"**/plans/{plan.pk}/runs/*/")
    expect(page.locator("#run-status")).to_have_text("done")
    expect(page.locator("#run-counts")).to_contain_text("6 of 6 steps done")
    expect(page.locator("#run-progress")).to_have_attribute("value", "6")
    for key in ("top", "eu", "euprod"):
        expect(page.locator(f"#run-node-{key} > td > .badge")).to_have_text("done")
    shot("journal")

    app.goto(f"/plans/{plan.pk}/")
    expect(page.locator("#apply-card-status")).to_have_text("done")
    assert all(n.pool_aws_id for n in plan.nodes.all())
    shot("applied")

    page.get_by_role("link", name="Tear down…").click()
    expect(page.locator("#teardown-steps")).to_contain_text("DeleteIpamPool")
    page.locator("#teardown-form input[name=confirm]").fill(plan.name)
    page.locator("#teardown-form button[type=submit]").click()
    page.wait_for_url(f"**/plans/{plan.pk}/")
    teardown = ApplyRun.objects.get(plan=plan, kind=ApplyRun.Kind.TEARDOWN)
    assert teardown.status == ApplyRun.Status.DONE
    assert not any(n.pool_aws_id for n in plan.nodes.all())
    shot("torn-down")
