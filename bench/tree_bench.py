"""The scope's pool tree: the scope page and its searches at 100 and at 10,000 pools, expanding
a node with 1,000 children, the address map of that node, and the pool form's source-pool
suggestions and live validation in both scopes.

Everything runs in one child process (``python -m bench.tree_bench``), so Django is set up
there with its own settings: a SQLite database in a temporary directory (or, with
``TREE_BENCH_DATABASE_URL=postgres://.../empty_db``, that PostgreSQL database, which must be
empty), migrated, and two scopes written straight into it with ``tests.treedata.build_tree``
(pools, their CIDRs, their allocations in their parents and tags, as a sync would leave them;
on PostgreSQL then vacuumed and analysed, as autovacuum would soon do):

- small: 100 pools, four top-level pools;
- large: 10,000 pools over depths 1 to 10, four top-level pools, the first with exactly 1,000
  children (a free block between each two of them, so expanding it lists 2,000 items).

Requests go through Django's test client in that process, logged in as a superuser; each is
timed from the call to the complete response (URL resolution, middleware, the view, its SQL,
template rendering), after a few untimed warm-up requests. How each number is taken:

- scope page: ``GET /scopes/<id>/`` (the top-level pools), median and p95 of ``requests``
  requests, at both sizes in the same run; the target is large / small <= 1.5 on medians.
  Requests of every measurement take turns (small, large, expand, map, small, ...), so a
  change in the machine's load during the run weighs on all of them alike.
- expand: ``GET /scopes/<id>/tree/<pool>/`` with ``HX-Request`` (what the tree's JavaScript
  asks for), on the pool with 1,000 children; the target is a median <= 150 ms.
- address map: ``GET /pools/<pool>/map/`` for the same pool (its CIDR with 1,000 child pools
  and the free blocks between them, drawn to scale).
- search: ``GET /scopes/<id>/?q=...`` at both sizes, for a name (``chain-7``, one pool in
  each scope), an IP address (``10.200.0.1``, the pools down the chain that contain it) and a
  tag (``cost-center=cc-00042``, one pool in each); the target is large / small <= 1.5 on
  medians, for each.
- source-pool suggestions: ``GET /pools/new/source-pools/`` for ``wide-05`` at both sizes.
- live validation: the form's POST when the scope changes (``_live=scope``), which decides
  between a select and a search box of source pools, at both sizes.
- SQL queries: every statement of one request, counted by ``CaptureQueriesContext``; the
  scope page and each search must send as many at 10,000 pools as at 100.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.harness import Stats, Suite, child_main, take_turns

RATIO_TARGET = 1.5
EXPAND_TARGET_MS = 150.0
ROOT = Path(__file__).resolve().parent.parent
SEARCHES = {"name": "chain-7", "address": "10.200.0.1", "tag": "cost-center=cc-00042"}


@dataclass(frozen=True)
class Sizes:
    small: int = 100
    large: int = 10_000
    wide: int = 1_000  # children of one pool in the large scope
    requests: int = 30  # timed requests per measurement
    warmup: int = 3


QUICK = Sizes(large=2_000, requests=8, warmup=2)


def run(quick: bool = False) -> Suite:
    sizes = QUICK if quick else Sizes()
    suite = Suite("tree", parameters=asdict(sizes))
    with tempfile.TemporaryDirectory(prefix="tree-bench-") as directory:
        database = os.environ.get("TREE_BENCH_DATABASE_URL") or (
            f"sqlite:///{Path(directory) / 'db.sqlite3'}"
        )
        suite.parameters["database"] = database.partition(":")[0]
        env = {
            **os.environ,
            "IPAMUI_VAR_DIR": directory,
            "DATABASE_URL": database,
            "DJANGO_SETTINGS_MODULE": "ipamui.settings_test",  # for the test client
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "false",
            "IPAM_BACKEND": "embedded",
            "IPAM_EMBEDDED_SEED": "false",
            "ALLOWED_HOSTS": "testserver",
        }
        env.pop("AWS_ENDPOINT_URL_EC2", None)
        argv = [sys.executable, "-m", "bench.tree_bench", "--child", json.dumps(asdict(sizes))]
        done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"the tree benchmark failed:\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
    _report(suite, sizes, result)
    return suite


def _report(suite: Suite, sizes: Sizes, result: dict[str, Any]) -> None:
    ms = {name: Stats(**stats) for name, stats in result["timings"].items()}
    queries = result["queries"]

    def pair(name: str, label: str, target: bool = True) -> None:
        small, large = ms[f"{name}_small"], ms[f"{name}_large"]
        suite.add(f"{label}, {sizes.small} pools, median", small.median * 1000, "ms")
        suite.add(f"{label}, {sizes.large:,} pools, median", large.median * 1000, "ms")
        suite.add(f"{label}, {sizes.large:,} pools, p95", large.p95 * 1000, "ms")
        ratio = large.median / small.median
        suite.add(
            f"{label} {sizes.large:,} / {sizes.small}",
            ratio,
            "x",
            target=f"<= {RATIO_TARGET}" if target else "",
            met=ratio <= RATIO_TARGET if target else None,
        )

    pair("scope", "scope page")
    for kind, text in SEARCHES.items():
        pair(f"search_{kind}", f"search by {kind} ({text})")
    pair("suggest", "source-pool suggestions", target=False)
    pair("live", "live validation (scope)", target=False)
    expand = ms["expand"]
    suite.add(
        f"expand a {sizes.wide:,}-child node, median",
        expand.median * 1000,
        "ms",
        target=f"<= {EXPAND_TARGET_MS:.0f} ms",
        met=expand.median * 1000 <= EXPAND_TARGET_MS,
    )
    suite.add(f"expand a {sizes.wide:,}-child node, p95", expand.p95 * 1000, "ms")
    suite.add(f"address map, {sizes.wide:,} children, median", ms["map"].median * 1000, "ms")
    suite.add(f"address map, {sizes.wide:,} children, p95", ms["map"].p95 * 1000, "ms")
    for name, label in [("scope", "scope page")] + [
        (f"search_{kind}", f"search by {kind}") for kind in SEARCHES
    ]:
        small_q, large_q = queries[f"{name}_small"], queries[f"{name}_large"]
        suite.add(
            f"SQL queries, {label} ({sizes.small} / {sizes.large:,} pools)",
            large_q,
            "queries",
            target=f"same as at {sizes.small} ({small_q})",
            met=small_q == large_q,
        )
    suite.add("SQL queries, expand", queries["expand"], "queries")
    suite.add("SQL queries, address map", queries["map"], "queries")
    suite.details.update(result)


# --- the child process ------------------------------------------------------------------------


def _child(sizes: Sizes) -> dict[str, Any]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.integration.app.pool_form_support import EMPTY_FORM
    from tests.treedata import build_tree

    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    small = build_tree(sizes.small, roots=4, label="small")
    large = build_tree(sizes.large, roots=4, wide=sizes.wide, label="large")
    if connection.vendor == "postgresql":
        # What autovacuum does to a real database soon after such a write: statistics for the
        # planner, and the trigram indexes' pending entries merged.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    built = time.perf_counter() - started
    assert large.wide is not None
    user = get_user_model().objects.create_superuser("bench", "", "bench-password")
    client = Client()
    client.force_login(user)

    targets: dict[str, tuple[str, dict[str, str], dict[str, str] | None]] = {}
    for label, tree in (("small", small), ("large", large)):
        scope_id = tree.scope.scope_id
        targets[f"scope_{label}"] = (f"/scopes/{scope_id}/", {}, None)
        for kind, text in SEARCHES.items():
            targets[f"search_{kind}_{label}"] = (
                f"/scopes/{scope_id}/?{urlencode({'q': text})}",
                {},
                None,
            )
        suggest = urlencode({"scope": scope_id, "address_family": "ipv4", "source_pool": "wide-05"})
        targets[f"suggest_{label}"] = (f"/pools/new/source-pools/?{suggest}", {}, None)
        form = {**EMPTY_FORM, "scope": scope_id, "_live": "scope"}
        targets[f"live_{label}"] = ("/pools/new/validate/", {"HTTP_HX_REQUEST": "true"}, form)
    targets |= {
        "expand": (
            f"/scopes/{large.scope.scope_id}/tree/{large.wide.pool_id}/",
            {"HTTP_HX_REQUEST": "true"},
            None,
        ),
        "map": (f"/pools/{large.wide.pool_id}/map/", {}, None),
    }

    def request(url: str, headers: dict[str, str], data: dict[str, str] | None) -> Any:
        if data is None:
            return client.get(url, **headers)
        return client.post(url, data, **headers)

    timings: dict[str, Any] = {}
    queries: dict[str, int] = {}
    sizes_out: dict[str, int] = {}
    for name, (url, headers, data) in targets.items():
        for _ in range(sizes.warmup):
            response = request(url, headers, data)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as captured:
            response = request(url, headers, data)
        queries[name] = len(captured.captured_queries)
        sizes_out[name] = len(response.content)
    # The two scope pages take turns, so that a change in the machine's load hits both alike.
    calls = {name: partial(request, *target) for name, target in targets.items()}
    timings = take_turns(calls, sizes.requests)
    return {
        "timings": timings,
        "queries": queries,
        "response_bytes": sizes_out,
        "build_seconds": round(built, 1),
    }


if __name__ == "__main__":
    child_main(_child, Sizes)
