"""The JSON API: listing every pool through the cursor pages, at 100 and at 10,000 pools, and
what a pool creation through ``POST /api/pools/`` costs beyond the bare AWS call.

Everything runs in one child process (``python -m bench.api_bench``), as the other benches do:
a SQLite database in a temporary directory, migrated; the demo IPAM seeded into an in-process
local endpoint and synced (for the creations); then two scopes written straight into the
database with ``tests.treedata.build_tree``, of 100 and of 10,000 pools. Requests go through
Django's test client with an API token of a superuser (``Authorization: Bearer``), after
untimed warm-up requests.

- list: ``GET /api/pools/?scope=<scope>&page_size=<n>``, then every ``next`` link to the end,
  for each scope and page size (100, 1,000): the walk's total time (median of several walks,
  the walks taking turns), its pages, and the SQL queries of each page (counted on a separate,
  untimed walk), whose minimum and maximum must be equal (constant per page) and the same at
  100 as at 10,000 pools;
- create: ``POST /api/pools/`` (serializer, the pool form, ``pools.services.pool_create``, the
  follow-up task, the answer) against ``create_ipam_pool`` called straight on the same endpoint
  with the same values, taking turns; the overhead is the difference of the medians.
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from bench.harness import Stats, Suite, child_main, django_child, take_turns

PAGE_SIZES = (100, 1_000)
PAGE_RATIO_TARGET = 1.5  # a pool listed among 10,000 costs at most this much more than among 100


@dataclass(frozen=True)
class Sizes:
    small: int = 100
    large: int = 10_000
    walks: int = 5  # timed walks through every page, per scope and page size
    creates: int = 60  # timed creations, each way
    warmup: int = 3


QUICK = Sizes(large=2_000, walks=2, creates=10, warmup=1)


def run(quick: bool = False) -> Suite:
    sizes = QUICK if quick else Sizes()
    suite = Suite("api", parameters={**asdict(sizes), "database": "SQLite (a temporary file)"})
    result = django_child("bench.api_bench", asdict(sizes))
    _report(suite, sizes, result)
    return suite


def _report(suite: Suite, sizes: Sizes, result: dict[str, Any]) -> None:
    walks = {name: Stats(**stats) for name, stats in result["walks"].items()}
    queries, pages = result["queries"], result["pages"]
    counts = {"small": sizes.small, "large": sizes.large}
    for size in PAGE_SIZES:
        for scope, pools in counts.items():
            name = f"{scope}-{size}"
            low, high = min(queries[name]), max(queries[name])
            label = f"list {pools:,} pools, page_size {size}"
            suite.add(f"{label}: all {pages[name]} pages, median", walks[name].median * 1000, "ms")
            suite.add(f"{label}: per page, median", walks[name].median * 1000 / pages[name], "ms")
            suite.add(
                f"{label}: SQL queries per page, min-max",
                high,
                "queries",
                target=f"min = max ({low}-{high})",
                met=low == high,
            )
        small, large = f"small-{size}", f"large-{size}"
        same = set(queries[small]) == set(queries[large])
        suite.add(
            f"SQL queries per page, page_size {size}, {sizes.small} / {sizes.large:,} pools",
            max(queries[large]),
            "queries",
            target=f"same as at {sizes.small} ({max(queries[small])})",
            met=same,
        )
        per_pool = (walks[large].median / sizes.large) / (walks[small].median / sizes.small)
        suite.add(
            f"time per pool listed, page_size {size}, {sizes.large:,} / {sizes.small} pools",
            per_pool,
            "x",
            target=f"<= {PAGE_RATIO_TARGET}",
            met=per_pool <= PAGE_RATIO_TARGET,
        )
        whole = walks[large].median / walks[small].median
        suite.add(f"whole list, page_size {size}, {sizes.large:,} / {sizes.small}", whole, "x")
    create = {name: Stats(**stats) for name, stats in result["create"].items()}
    api, aws = create["api"].median * 1000, create["aws"].median * 1000
    suite.add("create: POST /api/pools/, median", api, "ms")
    suite.add("create: bare create_ipam_pool, median", aws, "ms")
    suite.add("create: API beyond the AWS call, median", api - aws, "ms")
    suite.add("create: POST / bare AWS call", api / aws, "x")
    suite.add("create: SQL queries of a POST", result["create_queries"], "queries")
    suite.details.update(result)


# --- the child process ------------------------------------------------------------------------


def _child(sizes: Sizes) -> dict[str, Any]:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    import ipamsim
    from api.models import ApiToken
    from ipamsim.seed import seed_demo
    from pools.aws import reset_clients
    from pools.aws.embedded import use_simulator
    from pools.models import IpamScope
    from pools.sync import sync_all
    from tests.treedata import build_tree

    call_command("migrate", verbosity=0, interactive=False)
    sim = ipamsim.Simulator(ipamsim.Config(create_delay=0))
    use_simulator(sim)
    reset_clients()
    seed_demo(sim)
    sim.config.max_pools_per_scope = 100_000
    settings.IPAM_QUOTAS = {**settings.IPAM_QUOTAS, "pools_per_scope": 100_000}
    sync_all()  # before the trees, which exist in the database only
    demo_scope = IpamScope.objects.get(scope_type="private", is_default=True).scope_id

    started = time.perf_counter()
    trees = {
        "small": build_tree(sizes.small, roots=4, label="small"),
        "large": build_tree(sizes.large, roots=4, label="large"),
    }
    built = time.perf_counter() - started
    user = get_user_model().objects.create_superuser("bench", "", "bench-password")
    _, token = ApiToken.issue(user=user, name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    result: dict[str, Any] = {"build_seconds": round(built, 1)}
    result.update(_lists(client, trees, sizes))
    result.update(_creates(client, demo_scope, sizes))
    use_simulator(None)
    reset_clients()
    return result


def _walk(client: Any, first: str, expected: int | None = None) -> int:
    """GET ``first`` and every ``next`` after it; how many pages."""
    url: str | None = first
    pages = rows = 0
    while url:
        answer = client.get(url)
        if answer.status_code != 200:
            raise RuntimeError(f"{url} answered {answer.status_code}: {answer.content[:300]!r}")
        body = answer.json()
        pages += 1
        rows += len(body["results"])
        url = body["next"] and _local(body["next"])
    if expected is not None and rows != expected:
        raise RuntimeError(f"{first}: {rows} pools listed, expected {expected}")
    return pages


def _queries(call: Any) -> tuple[Any, int]:
    """``call()``, and how many SQL queries it made."""
    from django.db import connection

    made = 0

    def count(execute: Any, *args: Any) -> Any:
        nonlocal made
        made += 1
        return execute(*args)

    with connection.execute_wrapper(count):
        result = call()
    return result, made


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _lists(client: Any, trees: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    firsts = {
        f"{name}-{size}": f"/api/pools/?scope={tree.scope.scope_id}&page_size={size}"
        for size in PAGE_SIZES
        for name, tree in trees.items()
    }
    expected = {name: len(trees[name.split("-")[0]].pools) for name in firsts}
    queries: dict[str, list[int]] = {}
    pages: dict[str, int] = {}
    for name, first in firsts.items():
        for _ in range(sizes.warmup):
            _walk(client, first, expected[name])
        per_page: list[int] = []
        url: str | None = first
        while url:
            answer, made = _queries(partial(client.get, url))
            body = answer.json()
            per_page.append(made)
            url = body["next"] and _local(body["next"])
        queries[name], pages[name] = per_page, len(per_page)
    calls = {
        name: (lambda f=first, n=name: _walk(client, f, expected[n]))
        for name, first in firsts.items()
    }
    return {"walks": take_turns(calls, sizes.walks), "queries": queries, "pages": pages}


def _creates(client: Any, scope: str, sizes: Sizes) -> dict[str, Any]:
    """POST /api/pools/ and the bare CreateIpamPool, taking turns, with the same values."""
    from pools.aws import ec2_client

    ec2 = ec2_client()
    numbers = itertools.count()

    def api() -> None:
        body = {"scope": scope, "description": f"bench api {next(numbers)}"}
        answer = client.post(
            "/api/pools/",
            body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
        if answer.status_code != 201:
            raise RuntimeError(f"POST answered {answer.status_code}: {answer.content[:300]!r}")

    def aws() -> None:
        ec2.create_ipam_pool(
            IpamScopeId=scope,
            AddressFamily="ipv4",
            Description=f"bench aws {next(numbers)}",
            ClientToken=str(uuid.uuid4()),
        )

    for _ in range(sizes.warmup):
        api()
        aws()
    _, made = _queries(api)
    timings = take_turns({"api": api, "aws": aws}, sizes.creates)
    return {"create": timings, "create_queries": made}


if __name__ == "__main__":
    child_main(_child, Sizes)
