"""The pool page: a pool with 1,000 allocations and 1,000 child pools, and a leaf pool's page at
100 and at 10,000 pools.

Everything runs in one child process (``python -m bench.pool_page_bench``), as the tree
benchmark does: a SQLite database in a temporary directory, migrated, and two scopes written
straight into it with ``tests.treedata.build_tree`` (pools, CIDRs, allocations, tags, as a sync
leaves them):

- small: 100 pools; its first top-level pool has 10 child pools and 10 custom allocations;
- large: 10,000 pools; its first top-level pool has 1,000 child pools (each an ``ipam-pool``
  allocation) and 1,000 custom allocations in the free blocks between them.

Requests go through Django's test client, logged in as a superuser, after a few untimed
warm-up requests; each is timed from the call to the complete response (middleware, the view,
its SQL, the templates). Requests of every measurement take turns, so a change in the
machine's load weighs on all alike. Measured:

- ``GET /pools/<wide>/`` of the large scope's wide pool: median and p95, SQL queries, bytes
  (as sent, and gzipped as the app sends them to a browser that accepts gzip);
- ``GET /pools/<wide>/allocations/``: the first page (500 rows) of its 2,000 allocations;
- ``GET /pools/<leaf>/`` of a leaf pool (one CIDR, one allocation) in each scope, median; the
  target is large / small <= 1.5 (the page of a pool does not grow with the scope);
- the wide pool's page in the small scope, for the growth with the pool's own content.
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
    large: int = 10_000
    wide_small: int = 10  # child pools and custom allocations of the small scope's wide pool
    wide: int = 1_000  # ... of the large scope's wide pool
    requests: int = 30  # timed requests per measurement
    warmup: int = 3


QUICK = Sizes(large=2_000, requests=6, warmup=2)


def run(quick: bool = False) -> Suite:
    sizes = QUICK if quick else Sizes()
    suite = Suite("pool_page", parameters=asdict(sizes))
    result = django_child("bench.pool_page_bench", asdict(sizes))
    _report(suite, sizes, result)
    return suite


def _report(suite: Suite, sizes: Sizes, result: dict[str, Any]) -> None:
    ms = {name: Stats(**stats) for name, stats in result["timings"].items()}
    queries, sent, gzipped = result["queries"], result["bytes"], result["gzip_bytes"]
    wide = f"{sizes.wide:,} allocations + {sizes.wide:,} children"
    suite.add(f"pool page, {wide}, median", ms["wide"].median * 1000, "ms")
    suite.add(f"pool page, {wide}, p95", ms["wide"].p95 * 1000, "ms")
    suite.add(f"pool page, {wide}, SQL queries", queries["wide"], "queries")
    suite.add(f"pool page, {wide}, bytes", sent["wide"], "bytes")
    suite.add(f"pool page, {wide}, bytes gzipped", gzipped["wide"], "bytes")
    small_wide = f"{sizes.wide_small} allocations + {sizes.wide_small} children"
    suite.add(f"pool page, {small_wide}, median", ms["wide_small"].median * 1000, "ms")
    suite.add(f"pool page, {small_wide}, SQL queries", queries["wide_small"], "queries")
    suite.add(f"pool page, {small_wide}, bytes", sent["wide_small"], "bytes")
    every = f"allocations page, first 500 of {2 * sizes.wide:,}"
    suite.add(f"{every}, median", ms["all"].median * 1000, "ms")
    suite.add(f"{every}, SQL queries", queries["all"], "queries")
    suite.add(f"{every}, bytes gzipped", gzipped["all"], "bytes")
    small, large = ms["leaf_small"], ms["leaf_large"]
    suite.add(f"leaf pool page, {sizes.small} pools, median", small.median * 1000, "ms")
    suite.add(f"leaf pool page, {sizes.large:,} pools, median", large.median * 1000, "ms")
    ratio = large.median / small.median
    suite.add(
        f"leaf pool page {sizes.large:,} / {sizes.small}",
        ratio,
        "x",
        target=f"<= {RATIO_TARGET}",
        met=ratio <= RATIO_TARGET,
    )
    same = queries["leaf_small"] == queries["leaf_large"]
    suite.add(
        f"SQL queries, leaf pool page ({sizes.small} / {sizes.large:,} pools)",
        queries["leaf_large"],
        "queries",
        target=f"same as at {sizes.small} ({queries['leaf_small']})",
        met=same,
    )
    suite.details.update(result)


# --- the child process ------------------------------------------------------------------------


def _add_custom_allocations(pool: Any, count: int) -> None:
    """``count`` custom allocations of ``pool``: the first block of each free gap between its
    child pools (``build_tree`` leaves one after each child)."""
    from netaddr import IPNetwork

    from awsipam import addressing
    from pools.models import IpamPoolAllocation

    space = [c.cidr for c in pool.cidrs.all()]
    used = [a.cidr for a in pool.allocations.all()]
    gaps = addressing.free_blocks(space, used)
    rows = []
    for index, gap in enumerate(gaps[:count]):
        block = IPNetwork((gap.first, min(gap.prefixlen + 2, 32)), version=gap.version)
        rows.append(
            IpamPoolAllocation(
                allocation_id=f"ipam-pool-alloc-c{pool.pk:08x}{index:024x}",
                pool=pool,
                cidr=str(block),
                description=f"VPC {index}",
                resource_type="custom",
                resource_owner="123456789012",
            )
        )
    if len(rows) < count:
        raise ValueError(f"only {len(rows)} free gaps in {pool.pool_id}")
    IpamPoolAllocation.objects.bulk_create(rows, batch_size=1000)


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
    small = build_tree(sizes.small, roots=4, wide=sizes.wide_small, label="small")
    large = build_tree(sizes.large, roots=4, wide=sizes.wide, label="large")
    assert small.wide is not None
    assert large.wide is not None
    _add_custom_allocations(small.wide, sizes.wide_small)
    _add_custom_allocations(large.wide, sizes.wide)
    built = time.perf_counter() - started
    user = get_user_model().objects.create_superuser("bench", "", "bench-password")
    client = Client()
    client.force_login(user)

    def leaf(tree: Any) -> Any:
        return next(p for p in reversed(tree.pools) if not tree.children(p))

    targets = {
        "wide": f"/pools/{large.wide.pool_id}/",
        "wide_small": f"/pools/{small.wide.pool_id}/",
        "all": f"/pools/{large.wide.pool_id}/allocations/",
        "leaf_small": f"/pools/{leaf(small).pool_id}/",
        "leaf_large": f"/pools/{leaf(large).pool_id}/",
    }
    queries: dict[str, int] = {}
    sent: dict[str, int] = {}
    gzipped: dict[str, int] = {}
    for name, url in targets.items():
        for _ in range(sizes.warmup):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        queries[name] = len(captured.captured_queries)
        sent[name] = len(response.content)
        compressed = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
        assert compressed.get("Content-Encoding") == "gzip", url
        gzipped[name] = len(compressed.content)
    calls = {name: partial(client.get, url) for name, url in targets.items()}
    return {
        "timings": take_turns(calls, sizes.requests),
        "queries": queries,
        "bytes": sent,
        "gzip_bytes": gzipped,
        "build_seconds": round(built, 1),
    }


if __name__ == "__main__":
    child_main(_child, Sizes)
