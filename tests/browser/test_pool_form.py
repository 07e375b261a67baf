"""The New pool form in Chromium: live validation with no page load, creating a pool, watching
its state settle without a reload, AWS refusing, and the whole form by keyboard alone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from pools import forms
from pools.models import IpamPool, IpamScope
from tests.browser.conftest import App

pytestmark = pytest.mark.browser


def private_scope() -> IpamScope:
    return IpamScope.objects.get(scope_type="private", is_default=True)


def pool(name: str) -> IpamPool:
    return IpamPool.objects.get(name=name)


def aws_pool_ids(sim: Any) -> set[str]:
    return {p["IpamPoolId"] for p in sim.call("DescribeIpamPools", MaxResults=1000)["IpamPools"]}


def error(app: App, field: str, code: str) -> Any:
    return app.page.locator(f"#id_{field}_error [data-code='{code}']")


def new_pool_form(app: App, query: str = "") -> None:
    app.goto(f"/pools/new/{query}")
    expect(app.page.get_by_role("heading", name="New pool")).to_be_visible()


POOL_PAGE = re.compile(r"/pools/ipam-pool-[0-9a-f]+/$")


def test_min_above_max_is_reported_as_you_type_and_cleared_when_fixed(app: App, shot: Any) -> None:
    page = app.page
    new_pool_form(app, f"?scope={private_scope().scope_id}")
    page.get_by_label("Minimum netmask length").fill("28")
    page.get_by_label("Maximum netmask length").fill("24")
    expect(error(app, "allocation_min_netmask_length", "netmask_min_gt_max")).to_be_visible()
    expect(page.get_by_label("Minimum netmask length")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#pool-plan .warn-note")).to_be_visible()
    assert app.same_page(), "no page load"
    shot("error")

    page.get_by_label("Maximum netmask length").fill("28")
    expect(page.locator("#id_allocation_min_netmask_length_error")).to_be_empty()
    expect(page.get_by_label("Minimum netmask length")).not_to_have_attribute(
        "aria-invalid", "true"
    )
    expect(page.locator("#plan-depth")).to_have_text("This pool would be at depth 1 of 10.")
    assert app.same_page()
    shot("fixed")


def test_a_locale_the_ipam_does_not_operate_in(app: App, shot: Any) -> None:
    new_pool_form(app, f"?scope={private_scope().scope_id}")
    app.page.get_by_label("Locale").fill("ap-south-1")
    expect(error(app, "locale", "locale_not_operating")).to_be_visible()
    expect(app.page.locator("#id_locale_error")).to_contain_text("us-east-1")
    assert app.same_page()
    shot("error")
    app.page.get_by_label("Locale").fill("eu-west-1")
    expect(app.page.locator("#id_locale_error")).to_be_empty()


def test_a_child_whose_source_pool_has_another_locale(app: App, shot: Any) -> None:
    page = app.page
    new_pool_form(app, f"?scope={private_scope().scope_id}")
    page.get_by_label("Locale").fill("us-west-2")
    app.settle()
    page.get_by_label("Source pool").select_option(pool("us-east-1-prod").pool_id)
    expect(error(app, "locale", "locale_differs_from_source")).to_be_visible()
    expect(page.get_by_label("Locale")).to_have_value("us-west-2")
    shot("error")

    page.get_by_label("Locale").fill("us-east-1")
    expect(page.locator("#id_locale_error")).to_be_empty()
    assert app.same_page()


def test_choosing_a_source_pool_shows_the_depth_and_the_next_free_block(
    app: App, shot: Any
) -> None:
    page = app.page
    new_pool_form(app, f"?scope={private_scope().scope_id}")
    expect(page.locator("#plan-depth")).to_have_text("This pool would be at depth 1 of 10.")
    page.get_by_label("Source pool").select_option(pool("us-west-2-prod").pool_id)
    expect(page.locator("#plan-depth")).to_have_text("This pool would be at depth 4 of 10.")
    expect(page.get_by_label("Locale")).to_have_value("us-west-2")
    use_it = page.locator("#cidr-suggestion").get_by_role("button", name="Use it")
    expect(use_it).to_be_visible()
    shot("depth")
    use_it.click()
    expect(page.get_by_label("CIDR to provision")).to_have_value("10.16.2.0/24")
    expect(page.locator("#id_first_cidr_error")).to_be_empty()
    assert app.same_page()


def test_in_a_big_scope_the_source_pool_is_found_by_typing(
    app: App, shot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(forms, "SOURCE_SELECT_LIMIT", 3)  # the demo scope counts as big
    page = app.page
    new_pool_form(app, f"?scope={private_scope().scope_id}")
    search = page.get_by_label("Source pool")
    search.press_sequentially("west-2-pr", delay=30)
    suggestion = page.locator("#source-pool-options option")
    expect(suggestion).to_have_count(1)
    expect(suggestion).to_have_attribute("value", pool("us-west-2-prod").pool_id)
    shot("suggested")
    search.fill(suggestion.get_attribute("value"))  # what choosing the suggestion does
    expect(page.locator("#plan-depth")).to_have_text("This pool would be at depth 4 of 10.")
    expect(page.get_by_label("Locale")).to_have_value("us-west-2")
    expect(page.locator("#id_source_pool_error")).to_be_empty()
    assert app.same_page()


def test_fields_that_do_not_apply_are_hidden_or_disabled_with_the_reason(
    app: App, shot: Any
) -> None:
    page = app.page
    new_pool_form(app, f"?scope={private_scope().scope_id}")
    expect(page.locator("#public-reason")).to_be_visible()
    expect(page.get_by_label("Public IP source")).to_have_count(0)

    public = IpamScope.objects.get(scope_type="public").scope_id
    page.get_by_label("Scope").select_option(public)
    expect(page.get_by_label("Public IP source")).to_be_visible()
    advertisable = page.get_by_label("Publicly advertisable")
    expect(advertisable).to_be_disabled()
    expect(page.locator("#id_publicly_advertisable_helptext")).to_contain_text("IPv6")

    page.get_by_label("IPv6").check()
    expect(advertisable).to_be_enabled()
    page.get_by_label("Public IP source").focus()
    page.get_by_label("Public IP source").select_option("amazon")
    expect(advertisable).to_be_disabled()
    assert page.evaluate("document.activeElement.id") == "id_public_ip_source", (
        "the field being changed is not replaced under the user"
    )
    assert app.same_page()
    shot("public")


def test_tag_rows_are_added_in_place_and_checked(app: App, shot: Any) -> None:
    page = app.page
    new_pool_form(app, f"?scope={private_scope().scope_id}")
    page.locator("#tag-rows").get_by_role("button", name="Add a tag").focus()
    page.keyboard.press("Enter")
    key = page.locator("#id_tag-0-key")
    expect(key).to_be_focused()
    page.keyboard.type("aws:owner")
    expect(page.locator("#id_tag-0-key_error [data-code='tag_key_reserved']")).to_be_visible()
    key.fill("owner")
    expect(page.locator("#id_tag-0-key_error")).to_be_empty()
    app.settle(blur=False)  # the key's live check answered: its swap cannot take the focus
    page.locator("#tag-rows").get_by_role("button", name="Add a tag").click()
    expect(page.locator("#id_tag-1-key")).to_be_focused()
    expect(page.locator("#id_tag-0-key")).to_have_value("owner")
    assert app.same_page()
    shot("tags")


def test_a_double_click_on_submit_creates_one_pool(app: App, sim: Any, shot: Any) -> None:
    before = aws_pool_ids(sim)
    page = app.page
    new_pool_form(app, f"?scope={private_scope().scope_id}")
    page.get_by_label("Description").fill("double click")
    page.get_by_label("CIDR to provision").fill("172.16.0.0/16")
    app.settle()
    page.locator("#create-button").dblclick()
    page.wait_for_url(POOL_PAGE)
    expect(page.get_by_role("heading", level=1)).to_contain_text("double click")
    assert len(aws_pool_ids(sim) - before) == 1
    shot("created")


def test_two_submissions_with_one_token_create_one_pool(app: App, sim: Any) -> None:
    """Even with the page's double-submit guard out of the way, the ClientToken holds."""
    before = aws_pool_ids(sim)
    page = app.page
    new_pool_form(app, f"?scope={private_scope().scope_id}")
    page.get_by_label("Description").fill("submitted twice")
    app.settle()
    token = page.locator("input[name=client_token]").input_value()
    page.evaluate(
        "document.addEventListener('submit', e => delete e.target.dataset.submitted, true)"
    )
    page.locator("#create-button").click()
    page.wait_for_url(POOL_PAGE)
    page.go_back()
    expect(page.locator("input[name=client_token]")).to_have_count(1)
    page.evaluate(
        "token => { const f = document.getElementById('pool-form');"
        " f.client_token.value = token; f.description.value = 'submitted twice';"
        " f.requestSubmit(); }",
        token,
    )
    page.wait_for_url(POOL_PAGE)
    assert len(aws_pool_ids(sim) - before) == 1


def test_the_state_reaches_create_complete_without_a_reload(app: App, sim: Any, shot: Any) -> None:
    sim.config.create_delay = 1.5
    page = app.page
    new_pool_form(app, f"?scope={private_scope().scope_id}")
    page.get_by_label("Description").fill("settles by itself")
    page.get_by_label("CIDR to provision").fill("172.16.0.0/16")
    app.settle()
    page.get_by_role("button", name="Create pool").click()
    page.wait_for_url(POOL_PAGE)
    app.mark_page()
    status = page.locator("#pool-status")
    # The task that follows the pool runs inside the request here (tests/browser/conftest.py);
    # the polling from create-in-progress on is tested with a worker in test_pool_status.py.
    shot("after-create")

    expect(status.locator(".badge").first).to_have_text("create-complete", timeout=15_000)
    row = status.locator("tr", has_text="172.16.0.0/16")
    expect(row.locator(".badge")).to_have_text("provisioned", timeout=15_000)
    expect(status).not_to_have_attribute("hx-trigger", re.compile(".+"))
    expect(status).not_to_contain_text("Updating by itself")
    assert app.same_page(), "the state changed without a reload"
    shot("complete")


def test_aws_denying_the_call_keeps_the_input(app: App, sim: Any, shot: Any) -> None:
    page = app.page
    new_pool_form(app, f"?scope={private_scope().scope_id}")
    page.get_by_label("Description").fill("not allowed here")
    page.get_by_label("Locale").fill("us-east-1")
    app.settle()
    sim.faults.update({"deny": True})
    page.get_by_role("button", name="Create pool").click()
    alert = page.locator("#form-errors [role=alert]")
    expect(alert.locator("[data-code='UnauthorizedOperation']")).to_be_visible()
    expect(page.get_by_label("Description")).to_have_value("not allowed here")
    expect(page.get_by_label("Locale")).to_have_value("us-east-1")
    expect(page.get_by_role("button", name="Create pool")).to_be_enabled()
    shot("denied")

    page.get_by_role("button", name="Check permissions").click()
    expect(page.locator("#permission-result .warn-note")).to_contain_text("not allowed")
    sim.faults.update({"deny": False})
    page.get_by_role("button", name="Check permissions").click()
    expect(page.locator("#permission-result .ok-note")).to_be_visible()
    shot("permissions-ok")


def test_aws_unreachable_offers_a_retry(app: App, sim: Any, shot: Any) -> None:
    before = aws_pool_ids(sim)
    page = app.page
    new_pool_form(app, f"?scope={private_scope().scope_id}")
    page.get_by_label("Description").fill("try again")
    app.settle()
    sim.faults.update({"unreachable": True})
    page.get_by_role("button", name="Create pool").click()
    expect(page.locator("#form-errors [data-code='Unreachable']")).to_be_visible()
    shot("unreachable")
    sim.faults.update({"unreachable": False})
    page.get_by_role("button", name="Create pool").click()
    page.wait_for_url(POOL_PAGE)
    assert len(aws_pool_ids(sim) - before) == 1


def test_the_form_works_by_keyboard_alone(app: App, sim: Any, shot: Any) -> None:
    before = aws_pool_ids(sim)
    page = app.page
    new_pool_form(app)
    typed = {
        "id_scope": lambda: page.keyboard.press("ArrowDown"),
        "id_description": lambda: page.keyboard.type("keyboard only"),
        "id_first_cidr": lambda: page.keyboard.type("172.31.0.0/16"),
    }
    visited: list[str] = []
    for _ in range(80):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id || document.activeElement.tagName")
        visited.append(focused)
        if focused in typed:
            typed.pop(focused)()
            app.settle(blur=False)
        if focused == "create-button":
            break
    assert visited[-1] == "create-button", visited
    assert not typed, f"never reached {list(typed)}"
    app.settle(blur=False)
    shot("before-enter")
    page.keyboard.press("Enter")
    page.wait_for_url(POOL_PAGE)
    (pool_id,) = aws_pool_ids(sim) - before
    assert sim.call("DescribeIpamPools", IpamPoolIds=[pool_id])["IpamPools"][0]["Description"] == (
        "keyboard only"
    )
