"""A cascade delete followed to the end, and a change made outside the app found by the
periodic sync: both seen in the tree and in the change log, with nothing refreshed by hand."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from pools import tasks
from pools.models import IpamPool, ScheduledSync
from tests.browser.conftest import App

pytestmark = pytest.mark.browser


def test_a_cascade_delete_leaves_the_tree(app: App, shot: Any) -> None:
    pool = IpamPool.objects.select_related("scope").get(name="us-west-2")
    scope_url = f"/scopes/{pool.scope.scope_id}/"
    page = app.page
    app.goto(f"{scope_url}?open={pool.source_pool.pool_id},{pool.pool_id}")
    expect(page.locator("#tree-region")).to_contain_text("us-west-2-prod")

    app.goto(f"/pools/{pool.pool_id}/")
    page.get_by_text("Delete this pool…").click()
    page.get_by_label("Also delete its child pools, CIDRs and allocations").check()
    page.get_by_role("button", name=f"Delete {pool.pool_id}").click()
    expect(page.locator("#pool-gone")).to_contain_text("AWS no longer has this pool")
    expect(page.locator("#pool-changes")).to_contain_text("DeleteIpamPool")
    shot("gone")

    app.goto(f"{scope_url}?open={pool.source_pool.pool_id}")
    tree = page.locator("#tree-region")
    expect(tree).to_contain_text("corporate")
    expect(tree).not_to_contain_text("us-west-2")
    shot("tree")


def test_a_change_outside_the_app_is_found_and_logged(app: App, sim: Any, shot: Any) -> None:
    pool = IpamPool.objects.select_related("scope__ipam").get(name="corporate")
    sim.call("ModifyIpamPool", IpamPoolId=pool.pool_id, Description="Edited in the AWS console")
    sim.call(
        "CreateIpamPool",
        IpamScopeId=pool.scope.scope_id,
        AddressFamily="ipv4",
        TagSpecifications=[
            {"ResourceType": "ipam-pool", "Tags": [{"Key": "Name", "Value": "made-in-console"}]}
        ],
    )
    # What the task worker does when the periodic sync is due:
    run = ScheduledSync.objects.create(region=pool.region, run_after=timezone.now())
    tasks.periodic_sync.call(run.pk)

    page = app.page
    app.goto(f"/scopes/{pool.scope.scope_id}/")
    expect(page.locator("#tree-region")).to_contain_text("made-in-console")
    app.goto(f"/ipams/{pool.scope.ipam.ipam_id}/changes/?origin=outside")
    log = page.locator("table.change-log")
    expect(log).to_contain_text("Edited in the AWS console")
    expect(log).to_contain_text("changed outside ipamui")
    shot("change-log")
