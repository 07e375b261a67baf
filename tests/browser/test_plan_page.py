"""The plan page in Chromium: a plan opened, a child added with its live checks, a resize
that needs renumbering (then the repack), a pinned CIDR over a sibling, a move and a subtree
deleted, each in place (no page load), and the tree opened and closed."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from planning.models import Plan, PlanNode
from pools.models import IpamPool
from tests.browser.conftest import App
from tests.integration.planning import conftest as planning_fixtures
from tests.integration.planning.test_plan_views import bound_plan_nodes

pytestmark = pytest.mark.browser

private_scope = planning_fixtures.private_scope
make_plan = planning_fixtures.make_plan


@pytest.fixture
def plan(make_plan) -> Plan:
    corporate = IpamPool.objects.get(name="corporate")
    return make_plan("expansion", space="", parent_pool=corporate, nodes=bound_plan_nodes())


def open_plan(app: App, plan: Plan, query: str = "") -> None:
    app.goto(f"/plans/{plan.pk}/{query}")
    expect(app.page.get_by_role("tree")).to_be_visible()


def row(app: App, key: str) -> Any:
    return app.page.locator(f"#node-{key} > .row")


def act(app: App, key: str, action: str) -> None:
    """Open a node's form or confirmation, and wait until htmx has swapped it in and bound
    its triggers (a change made before that sends nothing)."""
    row(app, key).locator(f'a[data-action="{action}"]').click()
    app.settle(blur=False)
    app.page.wait_for_function(
        "!document.querySelector('.htmx-settling, .htmx-swapping, .htmx-added')"
    )


def test_a_child_is_added_with_live_checks(app: App, plan: Plan, shot: Any) -> None:
    page = app.page
    open_plan(app, plan)
    expect(page.locator("#node-use1 .badge.live").first).to_have_text("live, not in plan")
    expect(row(app, "stg").locator(".badge.planned")).to_be_visible()
    shot("opened")

    act(app, "aps1", "add")
    form = page.locator("#slot-aps1 #node-form")
    expect(form).to_be_visible()
    expect(form.get_by_label("Name")).to_be_focused()
    form.get_by_label("Name").fill("ap-south-1-dev")
    form.get_by_label("Prefix length", exact=True).fill("33")
    app.settle()
    expect(page.locator("#id_prefix_length_error")).to_contain_text("between 0 and 32")
    shot("live-refusal")

    form.get_by_label("Prefix length", exact=True).fill("14")
    app.settle()
    expect(page.locator("#id_prefix_length_error")).to_be_empty()
    expect(page.locator("#dry-cidr")).to_contain_text("10.56.0.0/14")
    shot("live-dry-run")
    form.get_by_text("Allocation rules, description and tags").click()
    form.locator("#tag-rows").get_by_role("button", name="Add a tag").click()
    expect(form.locator("#id_tag-0-key")).to_be_focused()
    form.locator("#id_tag-0-key").fill("team")
    form.locator("#id_tag-0-value").fill("netops")
    app.settle()
    form.get_by_role("button", name="Add", exact=True).click()

    expect(page.locator("#plan-notice")).to_contain_text("Added ap-south-1-dev at 10.56.0.0/14")
    added = PlanNode.objects.get(plan=plan, name="ap-south-1-dev")
    assert added.tags == {"team": "netops"}
    expect(row(app, added.key)).to_contain_text("10.56.0.0/14")
    assert app.same_page()
    shot("added")


def test_a_resize_that_needs_renumbering_then_the_repack(app: App, plan: Plan, shot: Any) -> None:
    page = app.page
    open_plan(app, plan)

    act(app, "stgdata", "edit")
    form = page.locator("#node-form")
    form.get_by_label("Prefix length", exact=True).fill("19")
    app.settle()
    expect(page.locator('#node-dry [data-code="renumbering_needed"]')).to_be_visible()
    shot("dry-run")
    form.get_by_role("button", name="Save").click()

    finding = page.locator('#findings [data-code="renumbering_needed"]')
    expect(finding).to_contain_text("staging-data")
    expect(finding).to_contain_text("Options")
    expect(row(app, "stgdata").locator(".badge.err")).to_be_visible()
    shot("renumbering-needed")

    finding.locator("[data-repack]").click()
    dialog = page.locator("#plan-dialog #plan-repack")
    expect(dialog.locator('#repack-moves [data-key="stgdata"]')).to_be_visible()
    shot("repack-confirmation")
    dialog.get_by_role("button", name="Repack").click()

    expect(page.locator('#findings [data-code="renumbering_needed"]')).to_have_count(0)
    # largest first: staging-data takes the start, staging-web moves after it
    expect(row(app, "stgdata").locator(".cidrs")).to_have_text("10.8.0.0/19")
    expect(row(app, "stgweb").locator(".cidrs")).to_have_text("10.8.32.0/20")
    assert app.same_page()
    shot("repacked")


def test_a_pinned_cidr_over_a_sibling_is_a_finding(app: App, plan: Plan, shot: Any) -> None:
    page = app.page
    open_plan(app, plan)

    act(app, "stgweb", "edit")
    form = page.locator("#node-form")
    form.get_by_label("a pinned CIDR").check()
    form.get_by_label("Pinned CIDR", exact=True).fill("10.8.0.1/20")
    app.settle()
    expect(page.locator("#id_cidr_error")).to_contain_text("did you mean 10.8.0.0/20")
    form.get_by_label("Pinned CIDR", exact=True).fill("10.8.0.0/20")
    app.settle()
    expect(page.locator('#node-dry [data-code="node_overlaps_sibling"]').first).to_be_visible()
    form.get_by_role("button", name="Save").click()

    finding = page.locator('#findings [data-code="node_overlaps_sibling"][data-node="stgweb"]')
    expect(finding).to_be_visible()
    expect(row(app, "stgweb")).to_contain_text("pinned")
    shot("overlap")
    finding.locator("a.finding-node").click()
    assert page.url.endswith("#node-stgweb")


def test_a_node_is_moved_and_a_subtree_deleted(app: App, plan: Plan, shot: Any) -> None:
    page = app.page
    open_plan(app, plan)

    act(app, "stgweb", "move")
    move = page.locator("#node-move")
    move.get_by_label("New parent").select_option(label="ap-south-1 (10.48.0.0/12)")
    app.settle()
    expect(page.locator("#dry-cidr")).to_contain_text("It would be")
    shot("move-dry-run")
    move.get_by_role("button", name="Move").click()
    expect(page.locator("#node-aps1 #node-stgweb")).to_be_visible()
    expect(page.locator("#plan-notice")).to_contain_text("Moved staging-web under ap-south-1")

    act(app, "stg", "delete")
    confirm = page.locator("#node-delete")
    expect(confirm.locator("#delete-count")).to_have_text("2 nodes")
    shot("delete-confirmation")
    confirm.get_by_role("button", name="Delete 2 nodes").click()
    expect(page.locator("#node-stg")).to_have_count(0)
    expect(page.locator("#node-stgdata")).to_have_count(0)
    expect(page.locator("#node-stgweb")).to_be_visible()
    assert app.same_page()
    assert not PlanNode.objects.filter(plan=plan, key__in=["stg", "stgdata"]).exists()
    shot("deleted")


def test_the_tree_opens_and_closes_in_place(app: App, plan: Plan, shot: Any) -> None:
    page = app.page
    open_plan(app, plan, "?open=")
    expect(page.locator("#node-stg")).to_have_count(0)

    row(app, "use1").locator(".toggle").click()
    expect(row(app, "stg")).to_be_visible()
    assert "open=use1" in page.url
    row(app, "stg").locator(".toggle").click()
    expect(row(app, "stgweb")).to_be_visible()
    expect(row(app, "stgweb")).to_contain_text("spare 2")
    assert app.same_page()

    page.locator("#node-stg > .row .name").click()
    expect(page.locator("#plan-map-heading")).to_contain_text("us-east-1-staging")
    expect(page.locator("#plan-map svg .planned").first).to_be_visible()
    shot("node-map")


def test_a_viewer_reads_the_plan_and_its_list_without_edits(
    page: Any, live_server: Any, plan: Plan, django_user_model: Any, shot: Any
) -> None:
    from django.contrib.auth.models import Permission

    # (a transactional test's database has no role groups: their rows are flushed)
    viewer = django_user_model.objects.create_user("reader", password="reader-password-1")
    reading = ["view_plan", "view_plannode", "view_ipampool"]
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=reading))
    app = App(page, live_server.url)
    page.goto(app.url("/accounts/login/"))
    page.get_by_label("Username").fill("reader")
    page.get_by_label("Password").fill("reader-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(app.url("/"))

    page.get_by_role("link", name="Plans", exact=True).first.click()
    expect(page.locator(f'tr[data-plan="{plan.pk}"]')).to_contain_text("expansion")
    expect(page.get_by_role("link", name="New plan")).to_have_count(0)
    shot("list")
    page.get_by_role("link", name="expansion").click()
    expect(page.get_by_role("tree")).to_be_visible()
    expect(page.locator("[data-action]")).to_have_count(0)
    expect(page.get_by_role("link", name="Add a top-level node")).to_have_count(0)
    shot("viewer")
