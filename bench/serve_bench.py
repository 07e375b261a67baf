"""Serving: requests per second of the scope page under gunicorn and under runserver, and the
bytes on the wire with and without compression.

One temporary directory holds everything: a SQLite database, migrated and filled by a child
process (``python -m bench.serve_bench --prepare``) with a scope written straight into it by
``tests.treedata.build_tree`` (its first top-level pool has 1,000 children), a logged-in
session for a superuser, and the static files collected as ``make serve`` collects them. Both
servers then run that same app with the production settings (``ipamui.settings``, DEBUG off, a
generated SECRET_KEY, the embedded IPAM endpoint with no seed), each as a child process on a
loopback port:

- gunicorn: ``gunicorn -c ipamui/gunicorn.conf.py`` with 2 sync workers;
- runserver: ``manage.py runserver --noreload`` (one process, a thread per connection).

Every request carries ``X-Forwarded-Proto: https``, as from the TLS-terminating proxy that
production has in front (``SECURE_PROXY_SSL_HEADER``), and the session cookie. How each number
is taken:

- requests per second: ``GET /scopes/<id>/`` (HTML, gzip accepted, as a browser asks) from
  ``concurrency`` threads in this process, each with its own ``http.client`` connection kept
  alive where the server allows it (gunicorn's sync workers close each connection; runserver
  keeps them). After ``warmup`` untimed requests sent the same way (so that every worker has
  loaded its templates and modules), the threads share a budget of
  ``requests`` requests and stop at it or at ``max_seconds``, whichever comes first; completed
  requests divided by the wall-clock seconds. Latency: each request from sending it to having
  read the whole body. The load generator shares the machine's CPUs with the server.
- bytes on the wire: against gunicorn, the status line, headers and body of each answer,
  once without ``Accept-Encoding`` and once with ``gzip``: the scope page with every asset it
  links (stylesheet, scripts, icon), and the expansion of the 1,000-child pool
  (``GET /scopes/<id>/tree/<pool>/`` with ``HX-Request``, what the tree's JavaScript asks).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from http.client import HTTPConnection, HTTPResponse
from pathlib import Path
from typing import Any

from bench.harness import ChildProcess, Stats, Suite, free_port

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
WORKERS = 2


@dataclass(frozen=True)
class Sizes:
    pools: int = 2_000  # pools in the scope; the first top-level pool has ``wide`` children
    wide: int = 1_000
    concurrency: int = 8
    requests: int = 1_500  # per server, at most
    max_seconds: float = 30.0  # per server, at most
    warmup: int = 80  # untimed requests first, from every thread


QUICK = Sizes(pools=1_100, requests=300, max_seconds=8.0, warmup=40)


def run(quick: bool = False) -> Suite:
    sizes = QUICK if quick else Sizes()
    suite = Suite(
        "serve",
        parameters={**asdict(sizes), "workers": WORKERS, "database": "SQLite (a temporary file)"},
    )
    with tempfile.TemporaryDirectory(prefix="ipamui-serve-bench-") as directory:
        env = _environment(Path(directory))
        prepared = _prepare(env, sizes)
        headers = {
            "X-Forwarded-Proto": "https",
            "Cookie": f"sessionid={prepared['session']}",
            "Accept-Encoding": "gzip",
        }
        scope_url = f"/scopes/{prepared['scope']}/"
        expand_url = f"/scopes/{prepared['scope']}/tree/{prepared['wide']}/"
        results: dict[str, Any] = {}
        with _server("gunicorn", env) as gunicorn:
            results["wire"] = _wire(gunicorn.port, scope_url, expand_url, headers)
            results["gunicorn"] = _load(gunicorn.port, scope_url, headers, sizes)
        with _server("runserver", env) as runserver:
            results["runserver"] = _load(runserver.port, scope_url, headers, sizes)
    _report(suite, sizes, results)
    return suite


def _environment(directory: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "IPAM_", "DJANGO_", "SECURE_", "DATABASE_URL"))
    }
    return env | {
        "DJANGO_SETTINGS_MODULE": "ipamui.settings",
        "IPAMUI_VAR_DIR": str(directory),
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "STATIC_ROOT": str(directory / "static"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
        "IPAM_BACKEND": "embedded",
        "IPAM_EMBEDDED_SEED": "false",
        "IPAM_EMBEDDED_STATE": str(directory / "ipamsim.sqlite3"),
        "LOG_LEVEL": "WARNING",
        "GUNICORN_LOG_LEVEL": "warning",
        "WEB_CONCURRENCY": str(WORKERS),
    }


def _prepare(env: dict[str, str], sizes: Sizes) -> dict[str, str]:
    argv = [sys.executable, "-m", "bench.serve_bench", "--prepare", json.dumps(asdict(sizes))]
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"preparing the serve benchmark failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def _server(kind: str, env: dict[str, str]) -> Iterator[ChildProcess]:
    """gunicorn or runserver on a free loopback port, in ``env`` (ChildProcess inherits this
    process's environment, so it is swapped in while the child starts)."""
    port = free_port(HOST)
    if kind == "gunicorn":
        argv = ["-m", "gunicorn", "-c", "ipamui/gunicorn.conf.py"]
    else:
        argv = ["manage.py", "runserver", f"{HOST}:{port}", "--noreload", "--skip-checks"]
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env | {"HOST": HOST, "PORT": str(port)})
    try:
        server = ChildProcess(argv, host=HOST, port=port, health_path="/health/")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    with server:
        yield server


# --- the load generator ------------------------------------------------------------------------


def _get(connection: HTTPConnection, path: str, headers: dict[str, str]) -> HTTPResponse:
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    return response


def _load(port: int, path: str, headers: dict[str, str], sizes: Sizes) -> dict[str, Any]:
    """Untimed requests from every thread first (each gunicorn worker warms up), then the
    timed ones."""
    _hammer(port, path, headers, sizes.concurrency, sizes.warmup, sizes.max_seconds)
    return _hammer(port, path, headers, sizes.concurrency, sizes.requests, sizes.max_seconds)


def _hammer(
    port: int, path: str, headers: dict[str, str], threads: int, requests: int, seconds: float
) -> dict[str, Any]:
    """``threads`` threads sharing a budget of ``requests`` requests and a deadline."""
    lock = threading.Lock()
    budget = [requests]
    latencies: list[float] = []
    failures: list[str] = []
    connections = [0]
    started = time.perf_counter()
    deadline = started + seconds

    def take() -> bool:
        with lock:
            if budget[0] <= 0 or time.perf_counter() >= deadline:
                return False
            budget[0] -= 1
            return True

    def worker() -> None:
        connection = HTTPConnection(HOST, port, timeout=30)
        while take():
            if connection.sock is None:  # closed by the server after its last answer
                with lock:
                    connections[0] += 1
            begun = time.perf_counter()
            try:
                response = _get(connection, path, headers)
            except OSError as error:
                with lock:
                    failures.append(repr(error))
                connection.close()
                continue
            elapsed = time.perf_counter() - begun
            with lock:
                if response.status == 200:
                    latencies.append(elapsed)
                else:
                    failures.append(str(response.status))
        connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "completed": len(latencies),
        "failures": failures[:10],
        "failed": len(failures),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "latency": asdict(Stats.of(latencies)),
        "connections": connections[0],
    }


# --- bytes on the wire ------------------------------------------------------------------------


def _wire_bytes(response: HTTPResponse, body: bytes) -> int:
    status = f"HTTP/1.1 {response.status} {response.reason}\r\n"
    header_lines = "".join(f"{name}: {value}\r\n" for name, value in response.getheaders())
    return len(status) + len(header_lines) + 2 + len(body)


def _fetch(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes, str]:
    connection = HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, (path, response.status)
        return _wire_bytes(response, body), body, response.getheader("Content-Encoding", "")
    finally:
        connection.close()


def _wire(port: int, scope_url: str, expand_url: str, headers: dict[str, str]) -> dict[str, Any]:
    plain = {k: v for k, v in headers.items() if k != "Accept-Encoding"}
    out: dict[str, Any] = {}
    for name, accept in (("plain", plain), ("gzip", headers)):
        page_bytes, body, encoding = _fetch(port, scope_url, accept)
        if encoding == "gzip":
            body = gzip.decompress(body)
        assets = sorted(set(re.findall(rb'(?:href|src)="(/static/[^"]+)"', body)))
        asset_bytes = {a.decode(): _fetch(port, a.decode(), accept)[0] for a in assets}
        expand_bytes, _, expand_encoding = _fetch(
            port, expand_url, {**accept, "HX-Request": "true"}
        )
        out[name] = {
            "page": page_bytes,
            "page_encoding": encoding,
            "assets": asset_bytes,
            "page_and_assets": page_bytes + sum(asset_bytes.values()),
            "expand": expand_bytes,
            "expand_encoding": expand_encoding,
        }
    return out


def _report(suite: Suite, sizes: Sizes, results: dict[str, Any]) -> None:
    for kind, label in (("gunicorn", f"gunicorn ({WORKERS} workers)"), ("runserver", "runserver")):
        load = results[kind]
        if load["failed"]:
            raise RuntimeError(f"{kind}: {load['failed']} requests failed: {load['failures']}")
        latency = Stats(**load["latency"])
        suite.add(f"scope page, {label}, c={sizes.concurrency}", load["rps"], "req/s")
        suite.add(f"scope page, {label}, median", latency.median * 1000, "ms")
        suite.add(f"scope page, {label}, p95", latency.p95 * 1000, "ms")
    ratio = results["gunicorn"]["rps"] / results["runserver"]["rps"]
    suite.add("scope page, gunicorn / runserver", ratio, "x")
    wire = results["wire"]
    kib = 1024
    for key, label in (
        ("page", "scope page HTML"),
        ("page_and_assets", "scope page with its assets"),
        ("expand", f"expand a {sizes.wide:,}-child node"),
    ):
        suite.add(f"{label}, uncompressed", wire["plain"][key] / kib, "KiB")
        suite.add(f"{label}, gzip", wire["gzip"][key] / kib, "KiB")
        suite.add(f"{label}, gzip / uncompressed", wire["gzip"][key] / wire["plain"][key], "x")
    suite.details.update(results)


# --- the child process that prepares the database ----------------------------------------------


def _prepare_child(sizes: Sizes) -> dict[str, str]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from tests.treedata import build_tree

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    tree = build_tree(sizes.pools, roots=4, wide=sizes.wide, label="serve")
    assert tree.wide is not None
    user = get_user_model().objects.create_superuser("bench", "", secrets.token_urlsafe(16))
    client = Client()
    client.force_login(user)
    return {
        "scope": tree.scope.scope_id,
        "wide": tree.wide.pool_id,
        "session": client.cookies["sessionid"].value,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prepare", required=True, help="the sizes, as JSON")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    print(json.dumps(_prepare_child(Sizes(**json.loads(args.prepare)))))


if __name__ == "__main__":
    main()
