"""The change log of an IPAM: its first page at 100 and at 100,000 entries, in one run.

Everything runs in one child process (``python -m bench.changelog_bench``) with its own SQLite
database in a temporary directory, migrated; two IPAMs with a small pool tree each
(``tests.treedata.build_tree``) get their log written straight into the database: half AWS
calls (``AwsCall``), half changes to the mirror's rows (``Change``), a second apart, across
their pools:

- small: 100 entries;
- large: 100,000 entries.

Requests go through Django's test client, logged in as a superuser, after a few untimed
warm-up requests; each is timed from the call to the complete response. The pages take turns
(small, large, large filtered by a pool, small, ...), so a change in the machine's load weighs
on all of them alike. How each number is taken:

- first page: ``GET /ipams/<id>/changes/``, median and p95 of ``requests`` requests; the target
  is large / small <= 1.5 on medians (the page reads 51 rows of each record by index, whatever
  the size of the log);
- filtered: the same page with ``?pool=<a pool id>`` on the large log;
- SQL queries: every statement of one request (``CaptureQueriesContext``); the target is as
  many at 100,000 entries as at 100;
- bytes: the size of the first page's HTML.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from bench.harness import Stats, Suite, child_main, django_child, take_turns

RATIO_TARGET = 1.5


@dataclass(frozen=True)
class Sizes:
    small: int = 100
    large: int = 100_000
    requests: int = 30
    warmup: int = 3


QUICK = Sizes(large=10_000, requests=8, warmup=2)


def run(quick: bool = False) -> Suite:
    sizes = QUICK if quick else Sizes()
    suite = Suite("changelog", parameters=asdict(sizes))
    result = django_child("bench.changelog_bench", asdict(sizes))
    ms = {name: Stats(**stats) for name, stats in result["timings"].items()}
    queries = result["queries"]
    small, large = ms["small"], ms["large"]
    suite.add(f"first page, {sizes.small} entries, median", small.median * 1000, "ms")
    suite.add(f"first page, {sizes.large:,} entries, median", large.median * 1000, "ms")
    suite.add(f"first page, {sizes.large:,} entries, p95", large.p95 * 1000, "ms")
    ratio = large.median / small.median
    suite.add(
        f"first page {sizes.large:,} / {sizes.small}",
        ratio,
        "x",
        target=f"<= {RATIO_TARGET}",
        met=ratio <= RATIO_TARGET,
    )
    suite.add(
        f"one pool's entries, {sizes.large:,} in the log, median", ms["pool"].median * 1000, "ms"
    )
    suite.add(
        f"SQL queries, first page ({sizes.small} / {sizes.large:,} entries)",
        queries["large"],
        "queries",
        target=f"same as at {sizes.small} ({queries['small']})",
        met=queries["large"] == queries["small"],
    )
    suite.add("first page size", result["response_bytes"]["large"] / 1024, "KiB")
    suite.details.update(result)
    return suite


# --- the child process ------------------------------------------------------------------------


def _write_log(ipam: Any, pools: list[Any], count: int) -> None:
    """``count`` entries for ``ipam``, newest now, one a second, spread over ``pools``."""
    from datetime import timedelta

    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from pools.bulk import insert_rows
    from pools.models import AwsCall, Change, IpamPool

    now = timezone.now()
    pool_type = ContentType.objects.get_for_model(IpamPool).pk
    calls, changes = [], []
    for i in range(count):
        pool = pools[i % len(pools)]
        at = now - timedelta(seconds=i)
        if i % 2:
            calls.append(
                {
                    "at": at,
                    "action": "AllocateIpamPoolCidr",
                    "parameters": {"IpamPoolId": pool.pool_id, "NetmaskLength": 24},
                    "outcome": "succeeded",
                    "request_id": f"{i:032x}",
                    "ipam_id": ipam.pk,
                    "pool_aws_id": pool.pool_id,
                    "origin": "app",
                }
            )
        else:
            changes.append(
                {
                    "timestamp": at,
                    "content_type_id": pool_type,
                    "object_pk": str(pool.pk),
                    "object_id": pool.pk,
                    "object_repr": pool.name or pool.pool_id,
                    "action": Change.Action.UPDATE,
                    "changes": {"description": ["before", f"after {i}"]},
                    "changes_text": "",
                    "ipam_id": ipam.pk,
                    "pool_aws_id": pool.pool_id,
                    "origin": "outside",
                }
            )
    for start in range(0, len(calls), 5000):
        insert_rows(AwsCall, calls[start : start + 5000])
        insert_rows(Change, changes[start : start + 5000])


def _child(sizes: Sizes) -> dict[str, Any]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.treedata import build_tree

    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    small = build_tree(100, roots=2, label="small")
    large = build_tree(100, roots=2, label="large")
    _write_log(small.scope.ipam, small.pools, sizes.small)
    _write_log(large.scope.ipam, large.pools, sizes.large)
    built = time.perf_counter() - started
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("bench", "", "bench-password"))
    targets = {
        "small": f"/ipams/{small.scope.ipam.ipam_id}/changes/",
        "large": f"/ipams/{large.scope.ipam.ipam_id}/changes/",
        "pool": f"/ipams/{large.scope.ipam.ipam_id}/changes/?pool={large.pools[7].pool_id}",
    }
    queries, sizes_out = {}, {}
    for name, url in targets.items():
        for _ in range(sizes.warmup):
            assert client.get(url).status_code == 200, url
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        queries[name] = len(captured.captured_queries)
        sizes_out[name] = len(response.content)
    calls = {name: partial(client.get, url) for name, url in targets.items()}
    return {
        "timings": take_turns(calls, sizes.requests),
        "queries": queries,
        "response_bytes": sizes_out,
        "build_seconds": round(built, 1),
    }


if __name__ == "__main__":
    child_main(_child, Sizes)
