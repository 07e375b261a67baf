"""The app as production runs it: gunicorn (two workers) with ``ipamui.settings`` and DEBUG off,
beside the task worker (``manage.py db_worker``), collected static files served by WhiteNoise,
PostgreSQL when the suite runs on it (a database of its own, created and dropped here) or a
SQLite file, and the embedded IPAM endpoint with the demo IPAM. Chromium logs in and creates a
pool through the form, and sees the worker bring its state to create-complete; the answers on
the wire are checked for what a load balancer and a browser rely on.

TLS would end at a proxy in front of gunicorn: here the browser sends the header such a proxy
adds (``X-Forwarded-Proto: https``, read through SECURE_PROXY_SSL_HEADER), so every HTTPS
setting is on as in production (redirect, HSTS, Secure cookies). The one difference is that the
browser itself sees http://localhost, which is why its origin is trusted for CSRF here.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.production.support import ROOT, clean_environment, manage

pytestmark = pytest.mark.production

WORKERS = 2
START_TIMEOUT = 30.0
BROWSER_TIMEOUT_MS = 15_000
HTTPS = {"X-Forwarded-Proto": "https"}
POOL_PAGE = re.compile(r"/pools/ipam-pool-[0-9a-f]+/$")
YEAR = 365 * 24 * 3600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def own_database() -> Iterator[str]:
    """A database URL for the server: on PostgreSQL (when the suite runs on it) a database
    created for this test and dropped after it, else a SQLite file."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        with tempfile.TemporaryDirectory(prefix="ipamui-smoke-db-") as directory:
            yield f"sqlite:///{Path(directory) / 'db.sqlite3'}"
        return
    import psycopg

    name = f"ipamui_smoke_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Server:
    port: int
    username: str
    password: str
    log: Path
    seconds_to_start: float = 0.0

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(
                "GET", path, headers={"Host": f"localhost:{self.port}", **(headers or {})}
            )
            answer = connection.getresponse()
            return Response(
                answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
            )
        finally:
            connection.close()


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        body = self.body
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        return body.decode()


def _wait_healthy(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited at start:\n{log.read_text()}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            connection.request("GET", "/health/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise RuntimeError(
        f"gunicorn did not answer /health/ in {START_TIMEOUT:.0f} s:\n{log.read_text()}"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    var_dir = tmp_path_factory.mktemp("smoke")
    port = free_port()
    started = time.monotonic()
    with own_database() as database_url:
        env = clean_environment(
            var_dir,
            DATABASE_URL=database_url,
            ALLOWED_HOSTS="localhost,127.0.0.1",
            SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
            CSRF_TRUSTED_ORIGINS=f"http://localhost:{port}",
            STATIC_ROOT=str(var_dir / "static"),
            IPAM_BACKEND="embedded",
            IPAM_EMBEDDED_STATE=str(var_dir / "ipamsim.sqlite3"),
            IPAM_EMBEDDED_SEED="true",
            IPAM_EMBEDDED_CREATE_DELAY="0",
            HOST="127.0.0.1",
            PORT=str(port),
            WEB_CONCURRENCY=str(WORKERS),
        )
        for command in (
            ["migrate", "--no-input", "--verbosity", "0"],
            ["collectstatic", "--no-input", "--verbosity", "0"],
            ["ipam_sync", "--verbosity", "0"],
        ):
            done = manage(env, *command)
            assert done.returncode == 0, f"{command}: {done.stderr}"
        admin = manage(env, "ensure_admin")
        assert admin.returncode == 0, admin.stderr
        username = re.search(r"username: (\S+)", admin.stdout)[1]
        password = re.search(r"password: (\S+)", admin.stdout)[1]

        log = var_dir / "gunicorn.log"
        gunicorn = [sys.executable, "-m", "gunicorn", "-c", "ipamui/gunicorn.conf.py"]
        worker = [
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-startup-delay",
            "--interval",
            "0.2",
        ]
        with (
            _process(gunicorn, env, log) as web,
            _process(worker, env, var_dir / "worker.log"),
        ):
            _wait_healthy(web, port, log)
            yield Server(port, username, password, log, time.monotonic() - started)


@contextlib.contextmanager
def _process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A child process with its output in ``log``, stopped (SIGTERM, then SIGKILL) at the end."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- on the wire -------------------------------------------------------------------------------


def test_the_health_check_answers_over_plain_http(server: Server) -> None:
    health = server.get("/health/")

    assert health.status == 200
    assert health.text() == '{"status": "ok"}'


def test_plain_http_is_sent_to_https(server: Server) -> None:
    page = server.get("/accounts/login/")

    assert page.status == 301
    assert page.headers["location"] == f"https://localhost:{server.port}/accounts/login/"


def test_pages_carry_the_security_headers(server: Server) -> None:
    page = server.get("/accounts/login/", HTTPS)

    assert page.status == 200
    assert page.headers["strict-transport-security"] == f"max-age={YEAR}; includeSubDomains"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["x-frame-options"] == "DENY"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-eval" not in policy
    assert "unsafe-inline" not in policy
    cookie = page.headers["set-cookie"]
    assert "csrftoken=" in cookie
    assert "Secure" in cookie
    assert "HttpOnly" in cookie


def test_html_is_gzipped(server: Server) -> None:
    page = server.get("/accounts/login/", {**HTTPS, "Accept-Encoding": "gzip"})

    assert page.headers["content-encoding"] == "gzip"
    assert "<form" in page.text()


def test_static_files_have_hashed_names_long_caching_and_gzip(server: Server) -> None:
    page = server.get("/accounts/login/", HTTPS).text()
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert any(re.search(r"/css/app\.[0-9a-f]{12}\.css$", a) for a in assets), assets
    assert any(re.search(r"/htmx-2\.min\.[0-9a-f]{12}\.js$", a) for a in assets), assets
    assert any(re.search(r"/js/forms\.[0-9a-f]{12}\.js$", a) for a in assets), assets

    for asset in assets:
        answer = server.get(asset, {**HTTPS, "Accept-Encoding": "gzip"})
        assert answer.status == 200, asset
        cache = answer.headers["cache-control"]
        max_age = int(re.search(r"max-age=(\d+)", cache)[1])
        assert max_age >= YEAR, (asset, cache)
        assert "immutable" in cache
        if asset.endswith((".css", ".js")):
            assert answer.headers.get("content-encoding") == "gzip", asset


# --- in the browser -------------------------------------------------------------------------


def in_own_thread(scenario: Callable[[], None]) -> None:
    """Run ``scenario`` in a thread of its own and re-raise what it raised.

    Playwright's sync API refuses to start in a thread where another instance runs (the browser
    tests' session-wide one, in the same pytest run); a new thread has no event loop yet.
    """
    raised: list[BaseException] = []

    def target() -> None:
        try:
            scenario()
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=target, name="smoke-browser")
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the browser scenario did not finish in 120 s"
    if raised:
        raise raised[0]


# Every Content Security Policy violation, also as an event, in case the console has none.
RECORD_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  const seen = JSON.parse(sessionStorage.getItem("csp-violations") || "[]");
  seen.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
  sessionStorage.setItem("csp-violations", JSON.stringify(seen));
});
"""


def test_a_browser_logs_in_and_creates_a_pool(server: Server) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} (make test installs it)")
    in_own_thread(lambda: _log_in_and_create_a_pool(server))


def _log_in_and_create_a_pool(server: Server) -> None:
    _in_chromium(server, _scenario)


def _in_chromium(server: Server, scenario: Callable[[Server, Any, Any], None]) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            scenario(server, browser, expect)
        finally:
            browser.close()


def test_the_api_docs_load_and_the_api_answers_the_session(server: Server) -> None:
    """Swagger UI's files come collected and hashed like the rest; its page keeps to its CSP."""
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} (make test installs it)")
    in_own_thread(lambda: _in_chromium(server, _api_docs))


def _api_docs(server: Server, browser: Any, expect: Any) -> None:
    context = browser.new_context(extra_http_headers=HTTPS)
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        page.goto(f"{server.url}/api/docs/")  # asks to log in first
        page.get_by_label("Username").fill(server.username)
        page.get_by_label("Password").fill(server.password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{server.url}/api/docs/")
        expect(page.get_by_text("/api/pools/{pool_id}/allocate/").first).to_be_visible()
        answer = page.request.get(f"{server.url}/api/pools/?page_size=5")
        assert answer.status == 200
        assert len(answer.json()["results"]) == 5
        violations = page.evaluate("JSON.parse(sessionStorage.getItem('csp-violations') || '[]')")
        assert violations == []
        assert failed == []
    finally:
        context.close()


def _scenario(server: Server, browser: Any, expect: Any) -> None:
    context = browser.new_context(extra_http_headers=HTTPS, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    try:
        page.goto(f"{server.url}/accounts/login/")
        page.get_by_label("Username").fill(server.username)
        page.get_by_label("Password").fill(server.password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{server.url}/")

        # The tree: tree.js opens a pool in place (htmx.ajax), with no page load.
        page.get_by_role("link", name=re.compile("default private scope", re.I)).first.click()
        tree = page.locator("[data-tree]")
        corporate = tree.locator('[role="treeitem"]', has_text="corporate").first
        corporate.locator(":scope > .row > .toggle").click()
        expect(corporate).to_have_attribute("aria-expanded", "true")
        children = corporate.locator(':scope > [role="group"] > [role="treeitem"]')
        expect(children.first).to_be_visible()

        # The form: live validation (htmx) proposes a free block; pool_form.js fills it in.
        page.goto(f"{server.url}/pools/new/")
        scope = page.locator("#id_scope option", has_text="default private scope")
        page.locator("#id_scope").select_option(scope.first.get_attribute("value"))
        source = page.locator("#id_source_pool option", has_text="us-west-2-prod")
        expect(source).to_have_count(1)
        page.locator("#id_source_pool").select_option(source.get_attribute("value"))
        expect(page.locator("#plan-depth")).to_have_text("This pool would be at depth 4 of 10.")
        use_it = page.locator("#cidr-suggestion").get_by_role("button", name="Use it")
        use_it.click()
        expect(page.get_by_label("CIDR to provision")).not_to_have_value("")
        page.get_by_label("Description").fill("created under gunicorn")
        page.wait_for_timeout(400)  # the live validation's debounce
        page.wait_for_function("!document.querySelector('.htmx-request')")
        page.get_by_role("button", name="Create pool").click()
        page.wait_for_url(POOL_PAGE)
        expect(page.get_by_role("heading", level=1)).to_contain_text("created under gunicorn")
        # The task worker follows the pool until AWS is done; the page shows it with no reload.
        status = page.locator("#pool-status .badge").first
        expect(status).to_have_text("create-complete", timeout=BROWSER_TIMEOUT_MS)

        violations = page.evaluate("JSON.parse(sessionStorage.getItem('csp-violations') || '[]')")
        assert violations == []
        assert errors == []
        assert failed == []

        # The check can see a violation: a script the page adds inline is refused, and said so.
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.__ran = true'; document.head.append(s); }"
        )
        page.wait_for_timeout(200)
        assert page.evaluate("window.__ran === undefined")
        assert any("Content Security Policy" in e for e in errors), errors
    finally:
        context.close()
