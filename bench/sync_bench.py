"""``ipam_sync`` over HTTP: pools imported against paging alone, SQL queries, memory; the
full sync (CIDRs and allocations) at two sizes, and its AWS calls per second against its budget.

The local endpoint runs as ``python -m ipamsim`` in a child process on a loopback port. It
seeds itself at start (``--seed bench.sync_bench:seed_full``): an IPAM in us-east-1 with
``Sizes.pools`` pools in its private scope and one in us-west-2 with ``Sizes.small`` pools,
each a hierarchy of blocks of 100 pools (a chain from depth 1 to 10, then wider levels), half of
them named, some with other tags or a locale, the chain pools with a CIDR and the deepest with
an allocation. For the full sync, one IPAM per size of ``Sizes.space_sizes`` (in
``SPACE_REGIONS``), of the same blocks but with a CIDR in every pool, so that every pool takes
two calls (GetIpamPoolCidrs, GetIpamPoolAllocations) and every pool but the top ones is an
allocation of its source pool. IPAM objects are regional, so a sync in one Region sees only
that IPAM.

Each sync runs in its own child process (``python -m bench.sync_bench``), as ``manage.py
ipam_sync`` would, with ``AWS_ENDPOINT_URL_EC2`` pointing at the endpoint, against a fresh
database (a SQLite file in a temporary directory, or a new PostgreSQL database), migrated
first. How each number is taken:

- sync: wall-clock seconds of ``pools.sync.sync_all(include_space=False)`` (IPAMs, scopes, pools,
  source links), once per fresh database; ``Sizes.repeats`` databases per backend.
- paging alone: in the same process, with the app's boto3 client (warmed by one untimed walk),
  seconds to walk every page of DescribeIpamPools (MaxResults 1000, no filter), a few times
  before the sync and as many after it. Ratio: sync / median walk of the same process; the
  reported ratio is the median over the repeats (the machine may be busy with other work), and
  the sync and paging figures shown are those of that run. CPU seconds of both are in details.
- SQL queries: every statement the sync sends, counted by a ``connection.execute_wrapper``
  (a bulk INSERT or UPDATE is one). Counted at two sizes (``pools`` and ``small``, fresh
  databases both): queries must grow with pages of 1,000 pools, not with pools.
- peak RSS: the sync process's ``VmHWM`` once the first sync is done (Django, boto3 and the
  walks included); the highest of the repeats.
- second run: the same sync again in the same process, nothing changed in AWS.
- full sync: wall-clock seconds of ``sync_all(include_space=True)`` (pools, then two calls per
  pool) on a fresh database, ``Sizes.repeats`` times at each of ``Sizes.space_sizes`` (in the
  same run, against the same endpoint), with ``IPAM_SYNC_READ_RATE`` at ``Sizes.local_rate``
  calls per second per action, a budget the local endpoint does not need; the figure is the
  median. Seconds per 1,000 pools at the larger size over those at the smaller is the
  linearity ratio (1 is linear). The counts of pools and CIDRs imported are checked.
- AWS calls per second: every attempt the sync's client sends, counted with its time by a
  ``before-send`` hook in the sync process; per action, calls over the seconds from its first
  call to its last (in details: the most calls in any one second). The paced run is a full
  sync at the smaller size, on SQLite, with ``IPAM_SYNC_READ_RATE`` at ``Sizes.paced_rate``
  (EC2's default refill for read calls); its rate is the sustained one, after the first second
  (which may also spend the bucket's initial burst of one second's worth), and must stay
  within the budget while using most of it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.harness import ChildProcess, Suite, free_port

HOST = "127.0.0.1"
MB = 1024 * 1024
LARGE_REGION = "us-east-1"
SMALL_REGION = "us-west-2"
SPACE_REGIONS = ("ap-southeast-2", "eu-west-1")  # the full sync's IPAMs, smaller size first
SPACE_TARGET_SECONDS = 60.0  # the full sync at 10,000 pools
LINEARITY_TARGET = 1.5
PACED_USE = 0.8  # the paced run must use at least this share of its budget
BLOCK = 100  # pools per hierarchy block: a chain of 10, then children of the chain
CHAIN = 10
RATIO_TARGET = 1.5
RSS_TARGET_MB = 300
QUERIES_PER_PAGE_LIMIT = 20  # extra queries allowed per extra page of 1,000 pools
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True)
class Sizes:
    pools: int = 10_000  # pools of the IPAM in us-east-1
    small: int = 5_000  # pools of the IPAM in us-west-2: the second size for the query count
    space_sizes: tuple[int, int] = (1_000, 10_000)  # the full sync (CIDRs and allocations)
    walks: int = 2  # timed walks of DescribeIpamPools before the sync, and as many after
    repeats: int = 3  # fresh databases synced at each size per backend (ratios are medians)
    local_rate: float = 1000.0  # the full sync's IPAM_SYNC_READ_RATE against this endpoint
    paced_rate: float = 20.0  # the paced run's: EC2's default refill for read calls


QUICK = Sizes(pools=2_000, small=1_000, space_sizes=(100, 1_000), walks=1, repeats=1)
FULL = Sizes()


# --- the endpoint's seed (runs inside the endpoint process) ------------------------------------


def seed_full(sim: Any) -> None:
    _seed(sim, FULL)


def seed_quick(sim: Any) -> None:
    _seed(sim, QUICK)


def _seed(sim: Any, sizes: Sizes) -> None:
    for region, count in ((LARGE_REGION, sizes.pools), (SMALL_REGION, sizes.small)):
        _seed_ipam(sim, region, count)
    for region, count in zip(SPACE_REGIONS, sizes.space_sizes, strict=True):
        _seed_ipam(sim, region, count, space=True)


def _tag_spec(tags: dict[str, str]) -> dict[str, Any]:
    if not tags:
        return {}
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    return {"TagSpecifications": [{"ResourceType": "ipam-pool", "Tags": tag_list}]}


def _seed_ipam(sim: Any, region: str, count: int, *, space: bool = False) -> None:
    """An IPAM with ``count`` pools in its private scope, in blocks of ``BLOCK``.

    In a block, pools 0 to 9 are a chain from depth 1 to 10, each with a CIDR from its parent
    (the top one a /16); pool ``j >= 10`` is a child of chain pool ``j % 9`` (depth 2 to 10).
    Every other block has a locale below its top pool, and an allocation in its deepest pool.
    With ``space``, every pool has a CIDR: chain pool ``k`` (a /16+k) gives the first half of
    its CIDR to the next chain pool and a /21+k of the other half to each of its children.
    """
    ipam = sim.call(
        "CreateIpam",
        region=region,
        Description=f"bench {region}",
        OperatingRegions=[{"RegionName": region}],
    )["Ipam"]
    scope = ipam["PrivateDefaultScopeId"]

    def call(action: str, **params: Any) -> dict[str, Any]:
        return sim.call(action, region=region, **params)

    for start in range(0, count, BLOCK):
        block_number = start // BLOCK
        block: list[str] = []
        for j in range(min(BLOCK, count - start)):
            index = start + j
            params: dict[str, Any] = {}
            if j:
                params["SourceIpamPoolId"] = block[j - 1 if j < CHAIN else j % (CHAIN - 1)]
                if block_number % 2 == 0:
                    params["Locale"] = region
            tags = {"Name": f"pool-{index}"} if index % 2 == 0 else {}
            if index % 5 == 0:
                tags["team"] = f"team-{index % 7}"
            if index % 10 == 3:
                tags["cost-center"] = f"cc-{index % 13}"
            created = call(
                "CreateIpamPool",
                IpamScopeId=scope,
                AddressFamily="ipv4",
                Description=f"bench pool {index}",
                **params,
                **_tag_spec(tags),
            )
            block.append(created["IpamPool"]["IpamPoolId"])
        call("ProvisionIpamPoolCidr", IpamPoolId=block[0], Cidr=f"10.{block_number % 256}.0.0/16")
        chain = block[1:CHAIN]
        for depth, pool_id in enumerate(chain, start=2):
            call("ProvisionIpamPoolCidr", IpamPoolId=pool_id, NetmaskLength=15 + depth)
        if space:
            for j in range(CHAIN, len(block)):
                parent = j % (CHAIN - 1)
                call("ProvisionIpamPoolCidr", IpamPoolId=block[j], NetmaskLength=21 + parent)
        if len(chain) == CHAIN - 1 and block_number % 2 == 0:  # allocating needs a locale
            call("AllocateIpamPoolCidr", IpamPoolId=chain[-1], NetmaskLength=28, Description="vpc")


# --- the parent: endpoint, databases, children, report ----------------------------------------


def run(quick: bool = False) -> Suite:
    sizes = QUICK if quick else FULL
    suite = Suite("sync", parameters=asdict(sizes))
    port = free_port(HOST)
    argv = ["-m", "ipamsim", "--host", HOST, "--port", str(port), "--create-delay", "0"]
    argv += ["--max-pools-per-scope", str(2 * sizes.pools)]
    argv += ["--seed", f"bench.sync_bench:seed_{'quick' if quick else 'full'}"]
    started = time.perf_counter()
    with (
        ChildProcess(
            argv, host=HOST, port=port, health_path="/_ipamsim/health", startup_timeout=300
        ) as endpoint,
        tempfile.TemporaryDirectory(prefix="ipamui-sync-bench-") as workdir,
    ):
        suite.details["endpoint_seed_seconds"] = time.perf_counter() - started
        for backend in ("SQLite", "PostgreSQL"):
            problem = _unavailable(backend)
            if problem:
                print(f"   {backend} skipped: {problem}", flush=True)
                suite.details[backend] = {"skipped": problem}
                continue
            _backend(suite, backend, endpoint.url, Path(workdir), sizes)
        suite.details["endpoint_peak_rss_mb"] = endpoint.peak_rss() / MB
    return suite


def _backend(suite: Suite, backend: str, url: str, workdir: Path, sizes: Sizes) -> None:
    def child(mode: str, region: str, label: str, rate: float | None = None) -> dict[str, Any]:
        with _fresh_database(backend, workdir, label) as database_url:
            print(f"   {backend}: {label}", flush=True)
            return _run_child(mode, region, url, database_url, workdir, sizes.walks, rate)

    runs = [child("pools", LARGE_REGION, f"pools-{sizes.pools}-{n}") for n in range(sizes.repeats)]
    small = child("pools", SMALL_REGION, f"pools-{sizes.small}")
    space = {
        size: [
            child("space", region, f"space-{size}-{n}", sizes.local_rate)
            for n in range(sizes.repeats)
        ]
        for region, size in zip(SPACE_REGIONS, sizes.space_sizes, strict=True)
    }
    for result, expected in [*((r, sizes.pools) for r in runs), (small, sizes.small)]:
        seen = result["first"]["counts"]["pools"]["created"]
        if seen != expected or result["walk_pools"] != expected:
            raise RuntimeError(f"{backend}: the sync saw {seen} pools, expected {expected}")
        if result["second"]["changed"]:
            raise RuntimeError(f"{backend}: the second run changed something: {result['second']}")

    ratios = [r["first"]["seconds"] / statistics.median(r["walks"]) for r in runs]
    middle = runs[ratios.index(statistics.median_low(ratios))]  # the run with the median ratio
    first, second = middle["first"], middle["second"]
    prefix = f"{backend}, {sizes.pools:,} pools"
    suite.add(f"{prefix}: sync (pools phase)", first["seconds"], "s")
    suite.add(f"{prefix}: DescribeIpamPools pages alone", statistics.median(middle["walks"]), "s")
    ratio = statistics.median(ratios)
    suite.add(
        f"{prefix}: sync / paging alone",
        ratio,
        "x",
        target=f"<= {RATIO_TARGET} (median of {len(runs)})",
        met=ratio <= RATIO_TARGET,
    )
    extra_pages = first["pages"] - small["first"]["pages"]
    extra_queries = first["queries"] - small["first"]["queries"]
    per_page = extra_queries / extra_pages if extra_pages else float("nan")
    suite.add(f"{backend}, {sizes.small:,} pools: SQL queries", small["first"]["queries"], "")
    suite.add(f"{prefix}: SQL queries", first["queries"], "")
    suite.add(
        f"{backend}: extra queries per extra page of 1,000 pools",
        per_page,
        "",
        target=f"<= {QUERIES_PER_PAGE_LIMIT} (per pool would be >= 1,000)",
        met=extra_pages > 0 and per_page <= QUERIES_PER_PAGE_LIMIT,
    )
    rss = max(r["peak_rss_after_first"] for r in runs) / MB
    suite.add(
        f"{prefix}: sync process peak RSS",
        rss,
        "MB",
        target=f"< {RSS_TARGET_MB} MB",
        met=rss < RSS_TARGET_MB,
    )
    suite.add(f"{prefix}: second run, nothing changed", second["seconds"], "s")
    suite.add(f"{prefix}: second run, SQL queries", second["queries"], "")
    _full_sync(suite, backend, space, sizes)
    suite.details[backend] = {
        "ratios": ratios,
        "cpu_ratios": [r["first"]["cpu_seconds"] / statistics.median(r["walk_cpu"]) for r in runs],
        "ratio_at_small_size": small["first"]["seconds"] / statistics.median(small["walks"]),
        f"pools_{sizes.pools}": runs,
        f"pools_{sizes.small}": small,
        **{f"space_{size}": results for size, results in space.items()},
    }
    if backend == "SQLite":  # pacing does not depend on the database
        paced = child("space", SPACE_REGIONS[0], "paced", sizes.paced_rate)
        _paced(suite, backend, paced, sizes)
        suite.details[backend]["paced"] = paced


def _expect_space(result: dict[str, Any], size: int) -> None:
    """The full sync imported every pool, and a CIDR of each (the seed gives one to each)."""
    counts = result["first"]["counts"]
    if counts["pools"]["created"] != size or counts["pool CIDRs"]["created"] != size:
        raise RuntimeError(f"the full sync imported {counts}, expected {size} pools and CIDRs")


def _full_sync(
    suite: Suite, backend: str, space: dict[int, list[dict[str, Any]]], sizes: Sizes
) -> None:
    """The full sync at each size: median seconds, SQL queries, calls per second; linearity."""
    per_thousand = {}
    for size, results in space.items():
        for result in results:
            _expect_space(result, size)
        seconds = [r["first"]["seconds"] for r in results]
        middle = results[seconds.index(statistics.median_low(seconds))]
        median = statistics.median(seconds)
        per_thousand[size] = median / size * 1000
        label = f"{backend}, {size:,} pools: full sync with CIDRs and allocations"
        of = f"median of {len(results)}"
        if size >= 10_000:
            target = f"<= {SPACE_TARGET_SECONDS:g} s ({of})"
            suite.add(label, median, "s", target=target, met=median <= SPACE_TARGET_SECONDS)
        else:
            suite.add(f"{label} ({of})", median, "s")
        suite.add(f"{label}, seconds per 1,000 pools", per_thousand[size], "s")
        suite.add(f"{label}, SQL queries", middle["first"]["queries"], "")
        rate = middle["calls"]["GetIpamPoolCidrs"]["rate"]
        suite.add(
            f"{label}, GetIpamPoolCidrs calls per second",
            rate,
            "/s",
            target=f"<= budget {sizes.local_rate:g}",
            met=rate <= sizes.local_rate,
        )
    small, large = sizes.space_sizes
    ratio = per_thousand[large] / per_thousand[small]
    suite.add(
        f"{backend}: full sync, seconds per 1,000 pools at {large:,} over at {small:,}",
        ratio,
        "x",
        target=f"<= {LINEARITY_TARGET} (1 is linear)",
        met=ratio <= LINEARITY_TARGET,
    )


def _paced(suite: Suite, backend: str, paced: dict[str, Any], sizes: Sizes) -> None:
    """The full sync at the smaller size with EC2's default budget: the rate it keeps to."""
    size, budget = sizes.space_sizes[0], sizes.paced_rate
    _expect_space(paced, size)
    label = f"{backend}, {size:,} pools, budget {budget:g} calls/s per action: full sync"
    suite.add(label, paced["first"]["seconds"], "s")
    for action in ("GetIpamPoolCidrs", "GetIpamPoolAllocations"):
        sustained = paced["calls"][action]["sustained_rate"]
        suite.add(
            f"{label}, {action} calls per second after the first",
            sustained,
            "/s",
            target=f"{PACED_USE * budget:g} to {budget:g}",
            met=PACED_USE * budget <= sustained <= budget * 1.01,
        )


def _unavailable(backend: str) -> str | None:
    if backend != "PostgreSQL":
        return None
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=5):
            return None
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {exc}".strip()


@contextmanager
def _fresh_database(backend: str, workdir: Path, label: str) -> Iterator[str]:
    if backend == "SQLite":
        path = workdir / f"{label}.sqlite3"
        try:
            yield f"sqlite:///{path}"
        finally:
            path.unlink(missing_ok=True)
        return
    import psycopg

    name = f"ipamui_bench_{os.getpid()}_{label.replace('-', '_')}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlsplit(POSTGRES_URL)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run_child(
    mode: str,
    region: str,
    endpoint_url: str,
    database_url: str,
    workdir: Path,
    walks: int,
    rate: float | None = None,
) -> dict[str, Any]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "IPAM_", "DATABASE_URL", "DJANGO_"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "ipamui.settings",
        "DATABASE_URL": database_url,
        "IPAM_BACKEND": "aws",
        "AWS_ENDPOINT_URL_EC2": endpoint_url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "IPAMUI_VAR_DIR": str(workdir),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    if rate is not None:
        env["IPAM_SYNC_READ_RATE"] = str(rate)
    completed = subprocess.run(
        [sys.executable, "-m", "bench.sync_bench", mode, "--walks", str(walks)],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the sync child failed ({completed.returncode}):\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- the child: one sync process ---------------------------------------------------------------


class QueryCounter:
    """A ``connection.execute_wrapper``: statements sent and seconds spent in them."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.count += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def _peak_rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise KeyError("VmHWM")


def _walk(client: Any) -> tuple[float, float, int]:
    """Every page of DescribeIpamPools with boto3 alone: (seconds, CPU seconds, pools seen)."""
    seen, token = 0, None
    started, cpu = time.perf_counter(), time.process_time()
    while True:
        response = client.describe_ipam_pools(
            MaxResults=1000, **({"NextToken": token} if token else {})
        )
        seen += len(response["IpamPools"])
        token = response.get("NextToken")
        if not token:
            return time.perf_counter() - started, time.process_time() - cpu, seen


class SentCalls:
    """A ``before-send`` hook: the time of every attempt the client sends, by action."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    def __call__(self, request: Any, **_: Any) -> None:
        now = time.perf_counter()
        body = request.body or b""
        if isinstance(body, bytes):
            body = body.decode()
        action = dict(pair.split("=", 1) for pair in body.split("&") if "=" in pair).get(
            "Action", "?"
        )
        self.times.setdefault(action, []).append(now)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per action: calls, calls per second from the first to the last, the same after the
        first second, and the most calls in any one second."""
        out = {}
        for action, times in self.times.items():
            first, last = times[0], times[-1]
            later = [t for t in times if t >= first + 1]
            out[action] = {
                "calls": len(times),
                "seconds": last - first,
                # n calls are n - 1 intervals apart
                "rate": (len(times) - 1) / (last - first) if last > first else math.nan,
                "sustained_rate": (
                    (len(later) - 1) / (last - later[0]) if len(later) > 1 else math.nan
                ),
                "most_in_one_second": _most_within(times, 1.0),
            }
        return out


def _most_within(times: list[float], window: float) -> int:
    """The most of ``times`` (in order) that fall within any ``window`` seconds."""
    most, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


def _timed_sync(include_space: bool) -> dict[str, Any]:
    from django.db import connection

    from pools.sync import sync_all

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started, cpu = time.perf_counter(), time.process_time()
        report = sync_all(include_space=include_space)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "queries": counter.count,
        "db_seconds": counter.seconds,
        "pages": report.pages,
        "changed": report.changed_anything,
        "counts": {kind: asdict(counts) for kind, counts in report.counts.items()},
        "missing": report.missing,
        "links_changed": report.links_changed,
    }


def _child(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sync_bench")
    parser.add_argument("mode", choices=["pools", "space"])
    parser.add_argument("--walks", type=int, default=3)
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.core.management import call_command

    from pools.aws import ec2_client

    call_command("migrate", verbosity=0, interactive=False)
    client = ec2_client()
    result: dict[str, Any] = {}
    *_, result["walk_pools"] = _walk(client)  # warms the client: model, shapes, connection
    result["rss_before_mb"] = _peak_rss() / MB
    if args.mode == "pools":
        walks = [_walk(client) for _ in range(args.walks)]
        result["first"] = _timed_sync(include_space=False)
        result["peak_rss_after_first"] = _peak_rss()
        result["second"] = _timed_sync(include_space=False)
        walks += [_walk(client) for _ in range(args.walks)]
        result["walks"] = [seconds for seconds, _, _ in walks]
        result["walk_cpu"] = [cpu for _, cpu, _ in walks]
    else:
        sent = SentCalls()
        client.meta.events.register("before-send.ec2", sent)
        result["first"] = _timed_sync(include_space=True)
        result["peak_rss_after_first"] = _peak_rss()
        result["calls"] = sent.summary()
    result["peak_rss"] = _peak_rss()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
