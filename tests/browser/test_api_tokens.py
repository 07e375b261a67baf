"""API tokens in Chromium: one is made on the profile page, shown once, used for a real HTTP
request to the live server, then revoked, after which the same request is refused."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect

from api.models import ApiToken
from tests.browser.conftest import App

pytestmark = pytest.mark.browser


def get_pools(app: App, token: str) -> tuple[int, Any]:
    """``GET /api/pools/`` over HTTP with the token: the status and the JSON body."""
    request = urllib.request.Request(
        app.url("/api/pools/"), headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_a_token_is_made_used_and_revoked(app: App, shot: Any) -> None:
    page = app.page
    app.goto("/")
    page.get_by_role("link", name="API tokens").click()
    expect(page.locator("h1")).to_have_text("API tokens")
    expect(page.locator("#token-list-empty")).to_be_visible()
    app.mark_page()

    page.get_by_label("Name").fill("deploy script")
    page.get_by_label("In 30 days").check()
    page.get_by_role("button", name="Make a token").click()
    shown = page.locator("#new-token")
    expect(shown).to_be_visible()
    assert app.same_page()  # swapped in by htmx
    token = shown.inner_text().strip()
    assert token.startswith("ipamui_")
    expect(page.locator("#token-issued")).to_contain_text("shown this once")
    expect(page.locator("#token-list")).to_contain_text("deploy script")
    expect(page.locator("#token-list")).to_contain_text(token[:13])
    shot("made")

    status, body = get_pools(app, token)
    assert status == 200
    assert {pool["name"] for pool in body["results"]} >= {"corporate"}

    page.reload()  # shown once: a new look at the page has it no more
    expect(page.locator("#new-token")).to_have_count(0)
    assert token not in page.content()

    row = page.locator("#token-list tr", has_text="deploy script")
    row.get_by_text("Revoke…").click()
    shot("confirm-revoke")
    row.get_by_role("button", name="Revoke “deploy script”").click()
    expect(page.locator("#token-revoked")).to_be_visible()
    expect(page.locator("#token-list-empty")).to_be_visible()
    assert not ApiToken.objects.exists()
    shot("revoked")

    status, body = get_pools(app, token)
    assert status == 401
    assert body["status"] == 401
