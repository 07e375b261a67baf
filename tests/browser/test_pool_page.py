"""The pool page's actions in Chromium: delete (refused, then a cascade), provision a CIDR."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from pools.models import IpamPool
from tests.browser.conftest import App

pytestmark = pytest.mark.browser


def test_a_refused_delete_is_explained_and_a_cascade_goes_through(app: App, shot: Any) -> None:
    pool = IpamPool.objects.get(name="us-west-2")
    page = app.page
    app.goto(f"/pools/{pool.pool_id}/")

    page.get_by_text("Delete this pool…").click()
    button = page.get_by_role("button", name=f"Delete {pool.pool_id}")
    button.dblclick()
    expect(page.locator("#delete-error")).to_contain_text("child pools in the pool")
    expect(
        page.get_by_label("Also delete its child pools, CIDRs and allocations")
    ).not_to_be_checked()
    shot("refused")

    page.get_by_label("Also delete its child pools, CIDRs and allocations").check()
    page.get_by_role("button", name=f"Delete {pool.pool_id}").click()
    expect(page.locator(".messages")).to_contain_text(f"Deleting {pool.pool_id}")
    expect(page.locator("#pool-status .badge").first).to_have_text("delete-complete")
    expect(page.get_by_text("Delete this pool…")).to_have_count(0)
    shot("deleted")


def test_a_cidr_is_provisioned_from_the_pool_page(app: App, shot: Any) -> None:
    pool = IpamPool.objects.get(name="us-west-2")
    page = app.page
    app.goto(f"/pools/{pool.pool_id}/")

    page.get_by_text("Add space to this pool…").click()
    page.get_by_label("CIDR", exact=True).fill("192.168.0.0/16")
    page.get_by_role("button", name="Provision").dblclick()
    expect(page.locator("#id_provision-cidr_error")).not_to_be_empty()
    expect(page.get_by_label("CIDR", exact=True)).to_have_value("192.168.0.0/16")
    shot("refused")

    page.get_by_label("CIDR", exact=True).fill("")
    page.get_by_label("…or a netmask length").fill("12")
    page.get_by_role("button", name="Provision").click()
    expect(page.locator(".messages")).to_contain_text("Provisioning 10.")
    expect(page.locator("#pool-status tbody tr")).to_have_count(2)
    shot("provisioned")
