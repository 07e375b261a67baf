"""The scope's pool tree in Chromium: opening and closing nodes in place with the URL keeping
track, the keyboard, search, "create a child pool here", and address maps."""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from pools.models import IpamPool, IpamScope
from tests.browser.conftest import SCREENSHOTS, App
from tests.treedata import build_tree

pytestmark = pytest.mark.browser


def private_scope() -> IpamScope:
    return IpamScope.objects.get(scope_type="private", is_default=True)


def pool_id(name: str) -> str:
    return IpamPool.objects.get(name=name).pool_id


def item(app: App, name: str) -> Any:
    return app.page.locator(f'[role="treeitem"][data-pool="{pool_id(name)}"]')


def toggle(app: App, name: str) -> Any:
    return item(app, name).locator(":scope > .row > .toggle")


def open_in_url(app: App) -> list[str]:
    values = parse_qs(urlsplit(app.page.url).query).get("open", [""])
    return [v for v in values[0].split(",") if v]


def focused_pool(app: App) -> str | None:
    return app.page.evaluate("document.activeElement.dataset.pool || null")


def viewport_shot(app: App, name: str) -> None:
    """Like the ``shot`` fixture, of the visible part of the page only (for long pages)."""
    if os.environ.get("SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        app.page.screenshot(path=str(SCREENSHOTS / f"test_tree--{name}.png"))


def scope_page(app: App, query: str = "") -> None:
    app.goto(f"/scopes/{private_scope().scope_id}/{query}")
    expect(app.page.get_by_role("tree")).to_be_visible()


def test_expand_and_collapse_in_place_with_the_url_keeping_track(app: App, shot: Any) -> None:
    page = app.page
    scope_page(app)
    expect(item(app, "us-east-1")).to_be_hidden()
    shot("top-levels")

    toggle(app, "corporate").click()
    expect(item(app, "us-east-1")).to_be_visible()
    expect(item(app, "corporate")).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_text("create a child pool here").first).to_be_visible()
    assert open_in_url(app) == [pool_id("corporate")]

    toggle(app, "us-east-1").click()
    expect(item(app, "us-east-1-prod")).to_be_visible()
    expect(item(app, "us-east-1-prod")).to_have_attribute("aria-level", "3")
    assert open_in_url(app) == sorted([pool_id("corporate"), pool_id("us-east-1")])
    assert app.same_page(), "children load in place"
    # Rows loaded on demand link (without JavaScript) to the tree as it was, plus themselves.
    href = toggle(app, "us-west-2").get_attribute("href")
    assert parse_qs(urlsplit(href).query)["open"] == [
        ",".join(sorted([pool_id("corporate"), pool_id("us-west-2")]))
    ]
    expect(toggle(app, "us-east-1-prod")).to_have_count(0)  # no children: nothing to open
    shot("two-open")

    page.reload()
    expect(item(app, "us-east-1-prod")).to_be_visible()
    expect(item(app, "us-west-2-prod")).to_have_count(0)
    app.mark_page()

    toggle(app, "us-east-1").click()
    expect(item(app, "us-east-1-prod")).to_be_hidden()
    assert open_in_url(app) == [pool_id("corporate")]
    toggle(app, "corporate").click()
    expect(item(app, "us-east-1")).to_be_hidden()
    assert open_in_url(app) == []
    assert app.same_page()

    toggle(app, "corporate").click()  # already loaded: shown again without a request
    expect(item(app, "us-east-1-prod")).to_be_hidden()
    expect(item(app, "us-east-1")).to_be_visible()
    assert app.same_page()


def test_expand_all_and_collapse_all(app: App, shot: Any) -> None:
    page = app.page
    scope_page(app)
    page.get_by_role("link", name="Expand all").click()
    expect(item(app, "eu-west-1-dev")).to_be_visible()
    shot("expanded")
    page.get_by_role("link", name="Collapse all").click()
    expect(item(app, "us-east-1")).to_be_hidden()


def test_keyboard(app: App, shot: Any) -> None:
    page = app.page
    scope_page(app)
    first = item(app, "corporate")
    expect(first).to_have_attribute("tabindex", "0")
    page.get_by_role("search").get_by_role("button", name="Search").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # Expand all, Collapse all, then the tree
    assert focused_pool(app) == pool_id("corporate")

    page.keyboard.press("ArrowRight")
    expect(first).to_have_attribute("aria-expanded", "true")
    expect(item(app, "us-east-1")).to_be_visible()
    page.keyboard.press("ArrowDown")
    assert focused_pool(app) == pool_id("us-east-1")
    page.keyboard.press("ArrowRight")
    expect(item(app, "us-east-1-prod")).to_be_visible()
    page.keyboard.press("ArrowRight")  # open already: into the first child
    assert focused_pool(app) == pool_id("us-east-1-prod")
    shot("focus")
    page.keyboard.press("ArrowLeft")  # closed: to the parent
    assert focused_pool(app) == pool_id("us-east-1")
    page.keyboard.press("ArrowLeft")  # open: closes it
    expect(item(app, "us-east-1-prod")).to_be_hidden()
    assert focused_pool(app) == pool_id("us-east-1")
    page.keyboard.press("ArrowDown")
    assert focused_pool(app) == pool_id("us-west-2")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert focused_pool(app) == pool_id("corporate")
    page.keyboard.press("End")
    assert focused_pool(app) == pool_id("ula-v6")
    # One item in the tab order at a time.
    assert page.locator('[role="treeitem"][tabindex="0"]').count() == 1
    assert open_in_url(app) == [pool_id("corporate")]

    page.keyboard.press("Home")
    page.keyboard.press("Enter")  # follows the pool's link
    page.wait_for_url(re.compile(rf"/pools/{pool_id('corporate')}/$"))


def test_search_shows_matches_with_their_ancestors(app: App, shot: Any) -> None:
    page = app.page
    scope_page(app)
    page.get_by_role("searchbox", name="Search pools").fill("west-2-dev")
    expect(item(app, "us-west-2-dev")).to_be_visible()
    expect(item(app, "us-west-2-dev")).to_have_class(re.compile(r"\bmatched\b"))
    expect(item(app, "us-west-2")).to_be_visible()
    expect(item(app, "us-east-1")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("1 pool matches")
    assert app.same_page()
    assert parse_qs(urlsplit(page.url).query)["q"] == ["west-2-dev"]
    shot("search")

    page.get_by_role("searchbox", name="Search pools").fill("")
    expect(item(app, "us-west-2-dev")).to_have_count(0)
    expect(item(app, "corporate")).to_be_visible()


def test_create_a_child_pool_here_opens_the_form_prefilled(app: App, shot: Any) -> None:
    page = app.page
    scope_page(app)
    toggle(app, "corporate").click()
    free = page.locator('[role="treeitem"].free').filter(has_text="10.48.0.0 - 10.255.255.255")
    expect(free).to_be_visible()
    expect(free).to_contain_text("13 \N{MULTIPLICATION SIGN} /12")
    shot("free-space")
    free.get_by_role("link", name=re.compile("create a child pool here")).click()
    page.wait_for_url(re.compile(r"/pools/new/\?"))
    expect(page.get_by_role("heading", name="New pool")).to_be_visible()
    expect(page.get_by_label("CIDR to provision")).to_have_value("10.128.0.0/12")
    expect(page.locator("#id_source_pool")).to_have_value(pool_id("corporate"))
    expect(page.locator("#id_first_cidr_error")).to_be_empty()
    shot("form")


def test_address_map_links_each_block(app: App, shot: Any) -> None:
    page = app.page
    corporate = pool_id("corporate")
    app.goto(f"/pools/{corporate}/map/")
    svg = page.locator("svg.addressmap")
    expect(svg).to_be_visible()
    expect(svg.locator("a.pool")).to_have_count(3)
    # One range, not three aligned blocks (drawn on each row it crosses, with one link).
    free_links = {a.get_attribute("href") for a in svg.locator("a.free").all()}
    assert len(free_links) == 1, free_links
    shot("map")
    svg.locator(f'a[href="/pools/{pool_id("us-west-2")}/"]').first.click()
    page.wait_for_url(re.compile(rf"/pools/{pool_id('us-west-2')}/$"))
    expect(page.locator("svg.addressmap a.pool")).to_have_count(2)
    shot("pool-page")


def test_a_node_with_many_children_and_a_pool_at_depth_ten(app: App, shot: Any) -> None:
    big = build_tree(400, wide=300, label="browser")
    assert big.wide is not None
    page = app.page
    app.goto(f"/scopes/{big.scope.scope_id}/")
    wide = page.locator(f'[role="treeitem"][data-pool="{big.wide.pool_id}"]')
    wide.locator(":scope > .row > .toggle").click()
    children = wide.locator(':scope > ul > [role="treeitem"][data-pool]')
    expect(children).to_have_count(300)
    expect(wide.locator(':scope > ul > [role="treeitem"].free').first).to_be_visible()
    assert app.same_page()
    viewport_shot(app, "wide")
    app.goto(f"/pools/{big.wide.pool_id}/map/")
    expect(page.locator("svg.addressmap a.pool")).to_have_count(300)
    shot("wide-map")

    deep = big.deepest
    assert deep is not None
    app.goto(f"/scopes/{big.scope.scope_id}/?q={deep.name}")
    expect(page.locator(f'[data-pool="{deep.pool_id}"]')).to_be_visible()
    expect(page.locator('[role="treeitem"][data-pool]')).to_have_count(10)
    viewport_shot(app, "deep-search")


def test_free_ranges_copy_buttons_and_searches_as_an_engineer_writes_them(
    app: App, shot: Any
) -> None:
    page = app.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    scope_page(app, f"?open={pool_id('corporate')},{pool_id('us-east-1')}")
    east = item(app, "us-east-1")
    ranges = east.locator(':scope > ul > [role="treeitem"].free')
    expect(ranges).to_have_count(1)
    expect(ranges).to_contain_text("10.8.0.0 - 10.15.255.255")
    expect(ranges.get_by_role("link", name=re.compile("create a child pool here"))).to_have_count(1)
    # The columns line up across levels.
    cidr_right = page.evaluate(
        "Array.from(document.querySelectorAll('ul.tree .row > .cidrs'))"
        ".map(e => Math.round(e.getBoundingClientRect().right))"
    )
    assert len(set(cidr_right)) == 1, cidr_right

    button = item(app, "us-east-1-prod").get_by_role("button", name=re.compile("Copy ipam-pool-"))
    button.click()
    expect(button).to_have_class(re.compile(r"\bcopied\b"))
    assert page.evaluate("navigator.clipboard.readText()") == pool_id("us-east-1-prod")
    viewport_shot(app, "ranges")

    box = page.get_by_role("searchbox", name="Search pools")
    box.fill("10.0.1.5")
    expect(item(app, "us-east-1-prod")).to_have_class(re.compile(r"\bmatched\b"))
    expect(item(app, "us-east-1-prod")).to_contain_text("10.0.0.0/14 contains")
    expect(item(app, "us-west-2")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("3 pools match")
    shot("search-address")

    from pools.models import IpamPool, PoolTag

    PoolTag.objects.create(
        pool=IpamPool.objects.get(name="eu-west-1-dev"), key="team", value="netops"
    )
    box.fill("team=netops")
    expect(item(app, "eu-west-1-dev")).to_have_class(re.compile(r"\bmatched\b"))
    expect(page.get_by_role("status")).to_contain_text("1 pool matches")
    box.fill("team")
    expect(item(app, "eu-west-1-dev")).to_have_class(re.compile(r"\bmatched\b"))
    assert app.same_page()
