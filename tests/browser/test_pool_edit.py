"""Editing a pool in Chromium: its allocation rules checked as one types, then saved; its tags
changed from the pool page; the delete confirmation and the breadcrumbs."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from pools.models import IpamPool
from tests.browser.conftest import App

pytestmark = pytest.mark.browser


def test_a_pool_is_edited_after_a_live_refusal(app: App, shot: Any) -> None:
    pool = IpamPool.objects.get(name="us-east-1-prod")
    page = app.page
    app.goto(f"/pools/{pool.pool_id}/")
    crumbs = page.locator("#pool-crumbs")
    expect(crumbs).to_contain_text("demo")
    expect(crumbs.get_by_role("link", name="corporate")).to_be_visible()
    expect(crumbs.get_by_role("link", name="us-east-1", exact=True)).to_be_visible()

    page.locator("#pool-edit-link").click()
    app.mark_page()
    page.get_by_label("Minimum netmask length").fill("30")
    app.settle()
    error = page.locator("#id_edit-allocation_min_netmask_length_error")
    expect(error).to_contain_text("cannot be longer than the maximum")
    assert app.same_page()  # checked live, no submit
    shot("refused-live")

    page.get_by_label("Minimum netmask length").fill("18")
    page.get_by_label("Description").fill("east production")
    app.settle()
    expect(error).to_be_empty()
    page.get_by_role("button", name="Save changes").dblclick()
    expect(page.locator(".messages")).to_contain_text("Saved the changes")
    expect(page.locator("dl.grid")).to_contain_text("/18 to /28, default /24")
    expect(page.locator("dl.grid")).to_contain_text("east production")
    shot("saved")


def test_tags_are_edited_on_the_pool_page(app: App, shot: Any) -> None:
    pool = IpamPool.objects.get(name="us-east-1-dev")
    page = app.page
    app.goto(f"/pools/{pool.pool_id}/")

    page.get_by_text("Edit tags…").click()
    page.locator("#tag-rows").get_by_role("button", name="Add a tag").click()
    key = page.locator("#id_tag-1-key")
    expect(key).to_be_focused()
    key.fill("aws:owner")
    app.settle()
    expect(page.locator("#id_tag-1-key_error")).to_contain_text("reserved")
    shot("refused-live")

    key.fill("team")
    page.locator("#id_tag-1-value").fill("netops")
    page.locator("#id_tag-0-value").fill("east-dev")
    app.settle()
    page.get_by_role("button", name="Save tags").click()
    expect(page.locator(".messages")).to_contain_text("Saved the tags")
    expect(page.locator("h1")).to_contain_text("east-dev")
    expect(page.locator("#pool-tag-list")).to_contain_text("team=netops")
    shot("saved")


def test_the_delete_confirmation_says_what_goes(app: App, shot: Any) -> None:
    pool = IpamPool.objects.get(name="corporate")
    page = app.page
    app.goto(f"/pools/{pool.pool_id}/")

    page.get_by_text("Delete this pool…").click()
    expect(page.locator("#delete-counts")).to_have_text(
        "9 descendant pools, 10 CIDRs and 12 allocations"
    )
    expect(page.locator("#delete-refusal")).to_contain_text("child pools")
    shot("confirmation")
