"""The template wizard in Chromium: a preset, Regions and environments changed with the preview
following without a page load, a level added, a refusal shown live, and the plan created."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from planning.models import Plan, PlanNode
from pools.models import IpamPool
from tests.browser.conftest import App

pytestmark = pytest.mark.browser

PLAN_PAGE = re.compile(r"/plans/(\d+)/$")


def test_a_plan_is_made_from_the_wizard_with_its_live_preview(app: App, shot: Any) -> None:
    page = app.page
    app.goto("/plans/new/")
    expect(page.get_by_role("heading", name="New plan", exact=True)).to_be_visible()
    shot("ways")
    page.get_by_role("link", name="From a template").click()
    expect(page.get_by_role("heading", name="New plan from a template")).to_be_visible()
    app.mark_page()
    preview = page.locator("#wizard-preview")
    # The common layout over the IPAM's three operating Regions: 1 + 3 + 9 + 36 nodes.
    expect(preview.locator(".preview-summary")).to_contain_text("49 nodes")
    expect(preview).to_contain_text("172.16.0.0/13")
    shot("preset")

    page.get_by_label("Name", exact=True).fill("landing zone")
    page.get_by_label("eu-west-1").uncheck()
    page.get_by_label("Environments").fill("prod, dev")
    app.settle()
    # 2 Regions x 2 environments x 4 VPCs, under the top node.
    expect(preview.locator(".preview-summary")).to_contain_text("23 nodes")
    expect(preview.locator(".ok-note")).to_be_visible()
    expect(preview.locator("li.depth-4").first).to_contain_text("us-east-1-dev-vpc1")
    expect(page.locator("#level-1-length")).to_contain_text("/15")  # 2 envs + a spare
    assert app.same_page(), "the preview follows without a page load"

    page.locator("#id_level-3-pattern").fill("{region}-{zone}-vpc{n}")
    app.settle()
    expect(
        page.locator("#id_level-3-pattern_error [data-code='pattern_placeholder_unknown']")
    ).to_be_visible()
    expect(page.locator("#preview-empty")).to_be_visible()
    shot("refused-live")
    page.locator("#id_level-3-pattern").fill("{region}-{env}-vpc{n}")
    app.settle()
    expect(page.locator("#id_level-3-pattern_error")).to_be_empty()

    page.get_by_role("button", name="Add a level").click()
    app.settle(blur=False)
    expect(page.locator("#id_level-4-pattern")).to_have_value("{region}-{env}-vpc{n}-{unit}")
    page.locator("#level-4").get_by_label("Remove").check()
    app.settle()
    expect(preview.locator(".preview-summary")).to_contain_text("23 nodes")
    assert app.same_page()
    shot("ready")

    page.get_by_role("button", name="Create the plan").click()
    page.wait_for_url(PLAN_PAGE)
    plan = Plan.objects.get(name="landing zone")
    assert PLAN_PAGE.search(page.url)[1] == str(plan.pk)
    nodes = {n.name: n for n in PlanNode.objects.filter(plan=plan)}
    assert len(nodes) == 23
    assert nodes["us-west-2"].locale == "us-west-2"
    assert str(nodes["global"].cidr) == "172.16.0.0/13"
    assert not IpamPool.objects.filter(name="landing zone").exists()  # a plan, not pools


def test_a_scope_is_cloned_from_its_page(app: App, shot: Any) -> None:
    page = app.page
    app.goto("/plans/new/clone/")
    app.mark_page()
    regional = IpamPool.objects.get(name="us-west-2")
    page.get_by_label("Pool", exact=True).select_option(regional.pool_id)
    app.settle()
    summary = page.locator("#clone-summary")
    expect(summary).to_contain_text("3 live IPv4 pools")
    expect(summary).to_contain_text("10.16.0.0/12")
    page.get_by_label("Name", exact=True).fill("west growth")
    app.settle()
    assert app.same_page()
    shot("chosen")
    page.get_by_role("button", name="Create the plan").click()
    page.wait_for_url(PLAN_PAGE)
    plan = Plan.objects.get(name="west growth")
    assert plan.parent_pool.name == "corporate"
    assert PlanNode.objects.filter(plan=plan).exclude(pool=None).count() == 3
