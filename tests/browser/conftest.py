"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

The live server runs in a thread of this process, so it shares the test's in-process local IPAM
endpoint (the autouse ``sim`` fixture) and, through ``live_server``, a transactional test
database it can see.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls made from the
# test itself are still plain synchronous code.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
USERNAME, PASSWORD = "admin", "browser-tests-password"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # Playwright's wait_for_function compiles its predicate with eval, which the app's Content
    # Security Policy forbids (rightly); the policy itself is tested in tests/production/.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(autouse=True)
def tasks_run_at_once(settings: Any) -> None:
    """In the browser tests the server runs each task as it is enqueued, looking again every
    50 ms for at most 5 s, as a task worker beside it would."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.IPAM_FOLLOW_SECONDS = 5
    settings.IPAM_FOLLOW_INTERVAL = 0.05


@pytest.fixture
def app(page: Any, live_server: Any, demo: Any, django_user_model: Any) -> App:
    """The app in the browser, logged in through the login page as a superuser."""
    django_user_model.objects.create_superuser(USERNAME, "", PASSWORD)
    app = App(page, live_server.url)
    page.goto(app.url("/accounts/login/"))
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(app.url("/"))
    return app


@pytest.fixture
def shot(request: pytest.FixtureRequest, page: Any) -> Any:
    """``shot("state")`` saves a full-page screenshot when SCREENSHOTS=1 is set."""
    wanted = os.environ.get("SCREENSHOTS") == "1"
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")

    def take(state: str) -> None:
        if wanted:
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{test}--{state}.png"), full_page=True)

    return take


class App:
    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str) -> None:
        self.page.goto(self.url(path))
        self.mark_page()

    def mark_page(self) -> None:
        """Put a marker on ``window``: a full page load would wipe it."""
        self.page.evaluate("window.__samePage = true")

    def same_page(self) -> bool:
        return self.page.evaluate("window.__samePage === true")

    def settle(self, *, blur: bool = True) -> None:
        """Wait until live validation is done: the field left (its ``change`` sent), the
        debounce over, and no htmx request in flight.

        The live server shares one SQLite connection between its threads, so a test lets
        requests finish rather than race them.
        """
        if blur:
            self.page.evaluate("document.activeElement && document.activeElement.blur()")
        self.page.wait_for_timeout(350)
        self.page.wait_for_function("!document.querySelector('.htmx-request')")
        self.page.wait_for_load_state("networkidle")
