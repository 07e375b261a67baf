"""The local IPAM endpoint over HTTP: create throughput, paging through many pools, memory.

The endpoint runs as ``python -m ipamsim`` in a child process on a loopback port, so its CPU
time and memory are its own; the client is boto3 in this process. How each number is taken:

- create rate: CreateIpamPool through boto3 (retries off), from one client in one thread, then
  from four clients in four threads; requests divided by wall-clock seconds.
- describe total: wall-clock seconds to walk every page of the scope's pools with boto3
  (DescribeIpamPools, a scope filter, MaxResults 1000), median of a few walks.
- botocore parse: during the walks a ``before-parse`` hook keeps each page's raw response;
  afterwards each is parsed again by ``botocore.parsers.create_parser("ec2")`` against the
  operation's output shape, timed page by page, over several passes.
- endpoint per page: the same pages fetched with plain ``http.client`` on a kept-alive
  connection, with the form body boto3 sends (unsigned); seconds from sending the request to
  having read the whole body. That includes loopback transport, so it is an upper bound on the
  endpoint's own time. The target: below botocore's parse time for a page, so that the client,
  not the endpoint, is what a caller waits for.
- memory: the endpoint's RSS high-water mark (``VmHWM``) once it holds every pool and has
  answered the walks.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlencode

import boto3
from botocore.config import Config
from botocore.parsers import create_parser

from bench.harness import ChildProcess, Stats, Suite, free_port, timed

HOST = "127.0.0.1"
REGION = "us-east-1"
MB = 1024 * 1024


@dataclass(frozen=True)
class Sizes:
    pools: int = 10_000  # pools in the scope when it is described
    creates: int = 2_000  # CreateIpamPool calls timed, once from one client, once from several
    threads: int = 4
    page: int = 1_000  # MaxResults
    walks: int = 3  # describe walks (and parse passes) per measurement


QUICK = Sizes(pools=1_000, creates=200, page=100, walks=2)


def run(quick: bool = False) -> Suite:
    sizes = QUICK if quick else Sizes()
    suite = Suite("ipamsim", parameters=asdict(sizes))
    port = free_port(HOST)
    argv = ["-m", "ipamsim", "--host", HOST, "--port", str(port), "--create-delay", "0"]
    argv += ["--max-pools-per-scope", str(sizes.pools * 2)]
    with ChildProcess(argv, host=HOST, port=port, health_path="/_ipamsim/health") as endpoint:
        suite.details["rss_at_start_mb"] = endpoint.rss() / MB
        clients = [_client(endpoint.url) for _ in range(sizes.threads)]
        scope_id = clients[0].create_ipam()["Ipam"]["PrivateDefaultScopeId"]
        _creates(suite, endpoint, clients, scope_id, sizes)
        _describes(suite, endpoint, clients[0], scope_id, sizes)
        suite.add("endpoint peak RSS", endpoint.peak_rss() / MB, "MB")
        suite.details["rss_at_end_mb"] = endpoint.rss() / MB
    return suite


def _client(url: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION
    )
    return session.client("ec2", endpoint_url=url, config=Config(retries={"total_max_attempts": 1}))


# --- CreateIpamPool -------------------------------------------------------------------------


def _create_many(clients: list[Any], scope_id: str, count: int) -> tuple[float, list[float]]:
    """``count`` creates shared among ``clients``, one thread each: (seconds, latencies)."""
    latencies: list[float] = []

    def work(client: Any, n: int) -> None:
        for _ in range(n):
            with timed() as call:
                client.create_ipam_pool(IpamScopeId=scope_id, AddressFamily="ipv4")
            latencies.append(call.seconds)

    shares = [count // len(clients) + (i < count % len(clients)) for i in range(len(clients))]
    with timed() as wall, ThreadPoolExecutor(len(clients)) as executor:
        list(executor.map(work, clients, shares))
    return wall.seconds, latencies


def _creates(
    suite: Suite, endpoint: ChildProcess, clients: list[Any], scope_id: str, sizes: Sizes
) -> None:
    for label, group in (("1 client", clients[:1]), (f"{len(clients)} threads", clients)):
        cpu, own_cpu = endpoint.cpu_seconds(), time.process_time()
        seconds, latencies = _create_many(group, scope_id, sizes.creates)
        latency = Stats.of(latencies)
        suite.add(f"CreateIpamPool, {label}", sizes.creates / seconds, "req/s")
        suite.details[f"create {label}"] = {
            "seconds": seconds,
            "latency_median_ms": latency.median * 1000,
            "latency_p95_ms": latency.p95 * 1000,
            "endpoint_cpu_seconds": endpoint.cpu_seconds() - cpu,
            "client_cpu_seconds": time.process_time() - own_cpu,
        }
    remaining = sizes.pools - 2 * sizes.creates
    if remaining > 0:
        seconds, _ = _create_many(clients, scope_id, remaining)
        suite.details["fill"] = {"pools": remaining, "seconds": seconds}


# --- DescribeIpamPools ----------------------------------------------------------------------


def _describe_form(scope_id: str, page: int, token: str | None) -> dict[str, str]:
    """The form boto3 sends for one page (Filter/Value are the EC2 names of Filters/Values)."""
    form = {
        "Action": "DescribeIpamPools",
        "Version": "2016-11-15",
        "Filter.1.Name": "ipam-scope-id",
        "Filter.1.Value.1": scope_id,
        "MaxResults": str(page),
    }
    if token:
        form["NextToken"] = token
    return form


def _walk_boto3(client: Any, scope_id: str, page: int) -> int:
    """Every page of the scope's pools through boto3; the number of pools seen."""
    seen, token = 0, None
    while True:
        kwargs = {"NextToken": token} if token else {}
        response = client.describe_ipam_pools(
            Filters=[{"Name": "ipam-scope-id", "Values": [scope_id]}], MaxResults=page, **kwargs
        )
        seen += len(response["IpamPools"])
        token = response.get("NextToken")
        if not token:
            return seen


def _walk_raw(host: str, port: int, scope_id: str, page: int) -> tuple[list[float], int]:
    """The same pages with plain http.client: (seconds per page, pools seen)."""
    connection = HTTPConnection(host, port, timeout=60)
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    times: list[float] = []
    seen, token = 0, None
    try:
        while True:
            body = urlencode(_describe_form(scope_id, page, token))
            with timed() as call:
                connection.request("POST", "/", body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            if response.status != 200:
                raise RuntimeError(f"DescribeIpamPools answered {response.status}: {payload!r}")
            times.append(call.seconds)
            seen += payload.count(b"<ipamPoolId>")
            match = re.search(rb"<nextToken>([^<]*)</nextToken>", payload)
            if match is None:
                return times, seen
            token = match[1].decode()
    finally:
        connection.close()


def _per_page(walks: list[list[float]]) -> list[list[float]]:
    """Samples regrouped by page: ``result[page] = [walk 1, walk 2, ...]``."""
    return [list(samples) for samples in zip(*walks, strict=True)]


def _describes(
    suite: Suite, endpoint: ChildProcess, client: Any, scope_id: str, sizes: Sizes
) -> None:
    raw_pages: list[dict[str, Any]] = []

    def keep(response_dict: dict[str, Any], **_: Any) -> None:
        raw_pages.append(dict(response_dict))

    event = "before-parse.ec2.DescribeIpamPools"
    totals, client_cpu, endpoint_cpu = [], [], []
    for _ in range(sizes.walks):
        raw_pages.clear()
        client.meta.events.register(event, keep)
        cpu, own_cpu = endpoint.cpu_seconds(), time.process_time()
        with timed() as walk:
            seen = _walk_boto3(client, scope_id, sizes.page)
        client.meta.events.unregister(event, keep)
        _expect(seen, sizes.pools, "boto3")
        totals.append(walk.seconds)
        client_cpu.append(time.process_time() - own_cpu)
        endpoint_cpu.append(endpoint.cpu_seconds() - cpu)

    parse = _time_parse(client, raw_pages, sizes.walks)
    served = []
    for _ in range(sizes.walks):
        times, seen = _walk_raw(endpoint.host, endpoint.port, scope_id, sizes.page)
        _expect(seen, sizes.pools, "http.client")
        served.append(times)

    parse_stats = Stats.of([t for walk in parse for t in walk])
    served_stats = Stats.of([t for walk in served for t in walk])
    label = f"DescribeIpamPools {sizes.pools:,} pools"
    suite.add(f"{label}, all pages (boto3)", Stats.of(totals).median, "s")
    suite.add(f"{label}, botocore parse", Stats.of([sum(w) for w in parse]).median, "s")
    suite.add(f"{label}, endpoint", Stats.of([sum(w) for w in served]).median, "s")
    suite.add(f"{label}, client CPU (boto3 walk)", Stats.of(client_cpu).median, "s")
    suite.add(f"{label}, endpoint CPU (boto3 walk)", Stats.of(endpoint_cpu).median, "s")
    page = f"page of {sizes.page:,}"
    for stat in ("median", "p95"):
        endpoint_ms = getattr(served_stats, stat) * 1000
        parse_ms = getattr(parse_stats, stat) * 1000
        suite.add(f"{page}: botocore parse {stat}", parse_ms, "ms")
        suite.add(
            f"{page}: endpoint {stat}",
            endpoint_ms,
            "ms",
            target=f"< botocore parse {stat} ({parse_ms:.1f} ms)",
            met=endpoint_ms < parse_ms,
        )
    ratios = [
        Stats.of(endpoint).median / Stats.of(parsing).median
        for endpoint, parsing in zip(_per_page(served), _per_page(parse), strict=True)
    ]
    suite.add(
        f"{page}: endpoint / parse, worst page",
        max(ratios),
        "x",
        target="< 1 (medians, page by page)",
        met=max(ratios) < 1,
    )
    suite.details["describe"] = {
        "method": {
            "total": "boto3 describe_ipam_pools, every page, wall clock",
            "parse": "captured raw pages re-parsed by botocore.parsers.create_parser('ec2')",
            "endpoint": "http.client request sent to body fully read, kept-alive connection",
        },
        "walk_seconds": totals,
        "client_cpu_seconds": client_cpu,
        "endpoint_cpu_seconds": endpoint_cpu,
        "page_bytes": [len(response["body"]) for response in raw_pages],
        "parse_seconds_by_page": _per_page(parse),
        "endpoint_seconds_by_page": _per_page(served),
    }


def _time_parse(client: Any, pages: list[dict[str, Any]], passes: int) -> list[list[float]]:
    """Seconds botocore's EC2 parser takes for each captured page, one list per pass."""
    parser = create_parser("ec2")
    shape = client.meta.service_model.operation_model("DescribeIpamPools").output_shape
    return [
        [_seconds(lambda page=page: parser.parse(page, shape)) for page in pages]
        for _ in range(passes)
    ]


def _seconds(func: Callable[[], object]) -> float:
    with timed() as watch:
        func()
    return watch.seconds


def _expect(seen: int, expected: int, how: str) -> None:
    if seen != expected:
        raise RuntimeError(f"{how} saw {seen} pools, expected {expected}")
