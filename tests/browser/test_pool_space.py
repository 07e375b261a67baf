"""The pool's space in Chromium: a refusal as you type, a preview, an allocation, its release,
and a CIDR deprovisioned and followed until AWS is done."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from pools.models import IpamPool, IpamScope
from pools.sync import sync_all
from tests.browser.conftest import App

pytestmark = pytest.mark.browser


def test_allocate_after_a_preview_then_release(app: App, shot: Any) -> None:
    pool = IpamPool.objects.get(name="us-east-1-prod")  # 10.0.0.0/14, two /24s taken
    page = app.page
    app.goto(f"/pools/{pool.pool_id}/")
    expect(page.locator("#pool-use")).to_contain_text("0.2 %")

    page.get_by_text("Allocate a CIDR…").click()
    form = page.locator("#pool-allocate")
    form.get_by_label("…or a block of netmask length").fill("26")
    form.get_by_label("Disallowed CIDRs").fill("192.168.0.0/16")
    expect(page.locator("#id_allocate-disallowed_cidrs_error")).to_contain_text(
        "shares no address with the pool"
    )
    assert app.same_page(), "checked as you type, no page load"
    shot("refused-as-you-type")

    form.get_by_label("Disallowed CIDRs").fill("10.0.2.0/24")
    expect(page.locator("#id_allocate-disallowed_cidrs_error")).to_be_empty()
    form.get_by_role("button", name="Preview next").click()
    expect(page.locator("#allocate-preview")).to_contain_text("AWS would allocate 10.0.3.0/26")
    assert app.same_page()
    assert pool.allocations.count() == 2, "a preview allocates nothing"
    shot("preview")

    form.get_by_label("Description").fill("batch VPC")
    form.get_by_role("button", name="Allocate", exact=True).dblclick()
    expect(page.locator(".messages")).to_contain_text("Allocated 10.0.3.0/26")
    row = page.locator("#pool-space tr", has_text="batch VPC")
    expect(row).to_contain_text("10.0.3.0/26")
    assert pool.allocations.count() == 3, "a double click allocates once"
    shot("allocated")

    row.get_by_text("Release…").click()
    row.get_by_role("button", name="Release 10.0.3.0/26").click()
    expect(page.locator(".messages")).to_contain_text("Released 10.0.3.0/26")
    expect(page.locator("#pool-space tr", has_text="batch VPC")).to_have_count(0)
    shot("released")


def test_a_cidr_is_deprovisioned_and_followed_until_aws_is_done(app: App, sim, shot) -> None:
    scope = IpamScope.objects.get(scope_type="private", is_default=True)
    made = sim.call("CreateIpamPool", IpamScopeId=scope.scope_id, AddressFamily="ipv4")
    pool_id = made["IpamPool"]["IpamPoolId"]
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=pool_id, Cidr="172.20.0.0/16")
    sync_all()
    sim.config.create_delay = 1  # AWS takes a moment
    page = app.page
    app.goto(f"/pools/{pool_id}/")

    row = page.locator("#pool-status tr", has_text="172.20.0.0/16")
    row.get_by_text("Deprovision…").click()
    row.get_by_role("button", name="Deprovision 172.20.0.0/16").click()
    expect(page.locator(".messages")).to_contain_text("Deprovisioning 172.20.0.0/16")
    # (The browser tests' task backend follows the CIDR before the page is shown; the
    # integration tests look at it while pending-deprovision.)
    expect(page.locator("#pool-status .deprovisioned")).to_contain_text("172.20.0.0/16")
    expect(page.locator("#pool-status .badge.cidr-deprovisioned")).to_be_visible()
    expect(page.locator("#pool-use")).to_contain_text("No provisioned space")
    expect(page.get_by_role("button", name="Deprovision 172.20.0.0/16")).to_have_count(0)
    shot("deprovisioned")
