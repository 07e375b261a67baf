"""The pool page at any depth and scope size, with what editing it adds: every ancestor in
the breadcrumbs and the delete confirmation's counts of everything below the pool, at 100 and
at 10,000 pools in one run.

As ``tree_bench``, everything runs in one child process (``python -m bench.pool_depth_bench``)
over a SQLite database in a temporary directory, with two scopes written by
``tests.treedata.build_tree`` (100 pools, and 10,000 pools over depths 1 to 10). Requests go
through Django's test client as a superuser (who sees the delete section), after untimed
warm-up requests, and take turns so that the machine's load weighs on all alike:

- deepest: ``GET /pools/<id>/`` of the depth-10 pool of each scope (nine ancestors in the
  breadcrumbs, nothing below it); the target is large / small <= 1.5 on medians, and the same
  number of queries at both sizes.
- top: the page of a top-level pool, whose delete confirmation counts all it would take (about
  a quarter of the scope); queries are one per level below it plus a fixed number.
- edit form: ``GET /pools/<id>/edit/`` of the deepest pool of the large scope.
- delete confirmation alone: ``selectors.delete_summary`` of the large scope's top-level pool,
  the part of its page that reads everything below it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from bench.harness import Stats, Suite, child_main, django_child, take_turns

RATIO_TARGET = 1.5


@dataclass(frozen=True)
class Sizes:
    small: int = 100
    large: int = 10_000
    requests: int = 30
    warmup: int = 3


QUICK = Sizes(large=2_000, requests=8, warmup=2)


def run(quick: bool = False) -> Suite:
    sizes = QUICK if quick else Sizes()
    suite = Suite("pool_depth", parameters=asdict(sizes))
    result = django_child("bench.pool_depth_bench", asdict(sizes))
    _report(suite, sizes, result)
    return suite


def _report(suite: Suite, sizes: Sizes, result: dict[str, Any]) -> None:
    ms = {name: Stats(**stats) for name, stats in result["timings"].items()}
    queries = result["queries"]
    for name, label in (
        ("deepest_small", f"depth-10 pool page, {sizes.small} pools"),
        ("deepest_large", f"depth-10 pool page, {sizes.large:,} pools"),
        ("top_small", f"top-level pool page, {sizes.small} pools"),
        ("top_large", f"top-level pool page, {sizes.large:,} pools"),
        ("edit_large", f"edit form, {sizes.large:,} pools"),
        ("summary_large", f"delete confirmation alone, top-level pool, {sizes.large:,} pools"),
    ):
        suite.add(f"{label}, median", ms[name].median * 1000, "ms")
        suite.add(f"{label}, p95", ms[name].p95 * 1000, "ms")
    ratio = ms["deepest_large"].median / ms["deepest_small"].median
    suite.add(
        f"depth-10 pool page {sizes.large:,} / {sizes.small}",
        ratio,
        "x",
        target=f"<= {RATIO_TARGET}",
        met=ratio <= RATIO_TARGET,
    )
    suite.add(
        f"SQL queries, depth-10 pool page ({sizes.small} / {sizes.large:,} pools)",
        queries["deepest_large"],
        "queries",
        target=f"same as at {sizes.small} ({queries['deepest_small']})",
        met=queries["deepest_large"] == queries["deepest_small"],
    )
    for name in ("top_small", "top_large", "edit_large"):
        suite.add(f"SQL queries, {name.replace('_', ' ')}", queries[name], "queries")
    for name, count in result["descendants"].items():
        suite.add(f"pools a cascade takes, {name.replace('_', ' ')}", count, "pools")
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

    from pools.models import IpamPool
    from pools.selectors import delete_summary
    from tests.treedata import build_tree

    call_command("migrate", verbosity=0, interactive=False)
    small = build_tree(sizes.small, roots=4, label="small")
    large = build_tree(sizes.large, roots=4, label="large")
    assert small.deepest is not None
    assert large.deepest is not None
    user = get_user_model().objects.create_superuser("bench", "", "bench-password")
    client = Client()
    client.force_login(user)
    tops = {"top_small": small.by_depth[1][0], "top_large": large.by_depth[1][0]}
    targets = {
        "deepest_small": f"/pools/{small.deepest.pool_id}/",
        "deepest_large": f"/pools/{large.deepest.pool_id}/",
        "top_small": f"/pools/{tops['top_small'].pool_id}/",
        "top_large": f"/pools/{tops['top_large'].pool_id}/",
        "edit_large": f"/pools/{large.deepest.pool_id}/edit/",
    }
    queries: dict[str, int] = {}
    sizes_out: dict[str, int] = {}
    for name, url in targets.items():
        for _ in range(sizes.warmup):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        queries[name] = len(captured.captured_queries)
        sizes_out[name] = len(response.content)
    top_large = IpamPool.objects.get(pk=tops["top_large"].pk)
    calls = {name: partial(client.get, url) for name, url in targets.items()}
    calls["summary_large"] = partial(delete_summary, top_large)
    timings = take_turns(calls, sizes.requests)
    return {
        "timings": timings,
        "queries": queries,
        "response_bytes": sizes_out,
        "descendants": {name: delete_summary(pool).pool_count for name, pool in tops.items()},
    }


if __name__ == "__main__":
    child_main(_child, Sizes)
