"""Import what AWS has into the mirror: IPAMs, scopes, pools (all pages), CIDRs, allocations.

Writes go in bulk, a page at a time, so SQL queries grow with pages, not with pools. What AWS
no longer has is marked (``missing_since``), never deleted. A second run changes nothing.

CIDRs and allocations take two calls per pool (AWS has no bulk form), so that phase is paced
by AWS's request budget: threads fetch pools, each call taking a token from a bucket per
action (``IPAM_SYNC_READ_RATE`` calls per second, :mod:`pools.aws.budget`), into a bounded
queue that one writer (this thread, which holds the database connection) empties a batch at
a time while the fetches go on. A call AWS throttles slows its action's bucket down and is
made again, up to :data:`THROTTLED_ROUNDS` times (each after botocore's own retries), so
only a throttle that does not let up fails the sync.
"""

from __future__ import annotations

import gc
import logging
import math
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils import timezone

from pools import changelog, mirror
from pools.aws import AwsUnavailable, call_aws, ec2_client
from pools.aws.budget import RequestBudget
from pools.mirror import UpsertCounts
from pools.models import Ipam, IpamPool, IpamPoolAllocation, IpamPoolCidr, IpamScope, Origin

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
SPACE_BATCH = 200  # pools whose CIDRs and allocations are written together
QUEUE_BATCHES = 2  # fetched pools waiting for the writer, in batches: the fetches' lead
THROTTLED_ROUNDS = 12  # times one call is made again after AWS throttled it (and botocore's
# own retries gave up): each waits on the halved rate of its action, up to 32 times slower
THROTTLING = frozenset({"RequestLimitExceeded", "Throttling", "ThrottlingException"})
# Calls in flight needed to keep to a rate (Little's law): the rate of both actions times
# about how long AWS takes to answer one; at most as many as botocore keeps connections open
# (``max_pool_connections``, 10 by default), so that every fetch reuses one.
CALL_SECONDS = 0.2
MOST_WORKERS = 10

Progress = Callable[[str], None]

# Sent at the end of every sync, with ``region`` (the Region synced) and ``report``: apps
# that compare their own state with the mirror (the planner's drift) listen, since pools/
# knows nothing of them. Receivers' errors are logged, never fail the sync.
synced = Signal()
T = TypeVar("T")


@dataclass
class SyncReport:
    counts: dict[str, UpsertCounts] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    links_changed: int = 0
    pages: int = 0

    @property
    def changed_anything(self) -> bool:
        return bool(
            self.links_changed
            or any(c.created or c.changed for c in self.counts.values())
            or any(self.missing.values())
        )

    def lines(self) -> list[str]:
        out = []
        for kind, c in self.counts.items():
            out.append(
                f"{kind}: {c.created} new, {c.changed} changed, {c.unchanged} unchanged, "
                f"{self.missing.get(kind, 0)} no longer in AWS"
            )
        out.append(f"source links changed: {self.links_changed}")
        return out


def space_workers(rate: float) -> int:
    """Concurrent fetches that keep two actions at ``rate`` calls per second each."""
    return max(2, min(MOST_WORKERS, math.ceil(2 * rate * CALL_SECONDS)))


def _call(budget: RequestBudget, method: Callable[..., dict[str, Any]], **params: Any) -> dict:
    """One call within the budget of its action; made again while AWS throttles it."""
    action = method.__name__
    for _ in range(THROTTLED_ROUNDS):
        budget.acquire(action)
        try:
            response = call_aws(method, **params)
        except AwsUnavailable as err:
            if err.code not in THROTTLING:
                raise
            budget.throttled(action)
            continue
        if response.get("ResponseMetadata", {}).get("RetryAttempts"):
            budget.throttled(action)  # botocore had to retry: AWS is near its limit
        return response
    budget.acquire(action)
    return call_aws(method, **params)  # the last round: a throttle now fails the sync


def _pages(
    budget: RequestBudget, method: Callable[..., dict[str, Any]], key: str, **params: Any
) -> Iterator[list[dict]]:
    """Every page of a paginated call, each within the budget."""
    token = None
    while True:
        response = _call(budget, method, **params, **({"NextToken": token} if token else {}))
        yield response.get(key, [])
        token = response.get("NextToken")
        if not token:
            return


def read_space(client: Any, budget: RequestBudget, pool_id: str) -> tuple[list[dict], list[dict]]:
    """A pool's CIDRs and allocations as AWS has them (every page of each).

    A pool with no CIDR has no allocation: space is allocated only from provisioned CIDRs, so
    GetIpamPoolAllocations is not asked.
    """
    cidrs = [
        c
        for page in _pages(
            budget, client.get_ipam_pool_cidrs, "IpamPoolCidrs", IpamPoolId=pool_id, MaxResults=1000
        )
        for c in page
    ]
    if not cidrs:
        return [], []
    allocations = [
        a
        for page in _pages(
            budget,
            client.get_ipam_pool_allocations,
            "IpamPoolAllocations",
            IpamPoolId=pool_id,
            MaxResults=1000,
        )
        for a in page
    ]
    return cidrs, allocations


def prefetched(items: Iterator[T]) -> Iterator[T]:
    """``items`` (never None), the next one fetched in a thread while the caller uses this one."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        future = executor.submit(next, items, None)
        while (item := future.result()) is not None:
            future = executor.submit(next, items, None)
            yield item


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector during a sync.

    Every page leaves thousands of new long-lived objects, so the collector would rescan the
    whole heap (Django, boto3's service model) again and again, which costs more than writing
    the rows. Reference counting still frees everything; cycles wait for the next collection.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _not_seen(rows: QuerySet, started: Any) -> int:
    """Mark the rows this sync did not see (``last_synced_at`` older than its start)."""
    return mirror.mark_missing(rows.exclude(last_synced_at__gte=started))


def _sync_ipams_and_scopes(
    client: Any, budget: RequestBudget, report: SyncReport
) -> tuple[mirror.Arns, mirror.Arns]:
    """Every IPAM and scope of the Region; their primary keys by ARN."""
    counts = report.counts.setdefault("IPAMs", UpsertCounts())
    ipam_pks: mirror.Arns = {}
    for page in _pages(budget, client.describe_ipams, "Ipams", MaxResults=PAGE_SIZE):
        ipam_pks |= mirror.upsert_ipams(page, counts)
    counts = report.counts.setdefault("scopes", UpsertCounts())
    scope_pks: mirror.Arns = {}
    for page in _pages(budget, client.describe_ipam_scopes, "IpamScopes", MaxResults=PAGE_SIZE):
        # A scope of an IPAM created since DescribeIpams waits for the next sync.
        page = [d for d in page if d["IpamArn"] in ipam_pks]
        scope_pks |= mirror.upsert_scopes(page, ipam_pks, counts)
    return ipam_pks, scope_pks


def sync_all(*, include_space: bool = True, progress: Progress | None = None) -> SyncReport:
    """Everything of the client's Region; what changed is put in the change log as changed
    outside ipamui (the app's own changes are in the mirror already, so they do not show),
    or, on the Region's first sync, as first read from AWS."""
    region = ec2_client().meta.region_name
    first = not IpamPool.objects.filter(region=region).exists()
    with _cyclic_gc_paused(), changelog.origin(Origin.IMPORTED if first else Origin.OUTSIDE):
        report = _sync(include_space, progress or (lambda message: None))
    for receiver, error in synced.send_robust(sender=SyncReport, region=region, report=report):
        if isinstance(error, Exception):
            log.warning("After the sync, %s failed: %r", receiver, error)
    return report


def _sync(include_space: bool, progress: Progress) -> SyncReport:
    client = ec2_client()
    region = client.meta.region_name  # IPAM objects are regional: other Regions' stay as they are
    report = SyncReport()
    started = timezone.now()
    budget = RequestBudget(settings.IPAM_SYNC_READ_RATE)

    ipam_pks, scope_pks = _sync_ipams_and_scopes(client, budget, report)
    report.missing["IPAMs"] = _not_seen(Ipam.objects.filter(region=region), started)
    report.missing["scopes"] = _not_seen(IpamScope.objects.filter(region=region), started)
    progress(f"IPAMs: {len(ipam_pks)}, scopes: {len(scope_pks)}")

    counts = report.counts.setdefault("pools", UpsertCounts())
    pool_pks = dict(IpamPool.objects.values_list("pool_id", "id"))

    def write(page: list[dict[str, Any]]) -> None:
        page_counts = UpsertCounts()
        with transaction.atomic():
            mirror.upsert_pools(
                page, ipam_pks=ipam_pks, scope_pks=scope_pks, pool_pks=pool_pks, counts=page_counts
            )
        counts.add(page_counts)

    seen = 0
    pool_pages = _pages(budget, client.describe_ipam_pools, "IpamPools", MaxResults=PAGE_SIZE)
    for page in prefetched(pool_pages):
        if not {d["IpamScopeArn"] for d in page} <= scope_pks.keys():  # created meanwhile
            ipam_pks, scope_pks = _sync_ipams_and_scopes(client, budget, SyncReport())
            page = [d for d in page if d["IpamScopeArn"] in scope_pks]
        try:
            write(page)
        except IntegrityError:  # the app saved one of these pools meanwhile: read them again
            pool_pks = dict(IpamPool.objects.values_list("pool_id", "id"))
            write(page)
        seen += len(page)
        report.pages += 1
        progress(f"pools: {seen}")
    report.links_changed = mirror.link_sources()
    # A pool AWS no longer has takes its descendants and its space along (as a deletion does).
    unseen = IpamPool.objects.live().filter(region=region).exclude(last_synced_at__gte=started)
    report.missing["pools"] = mirror.forget_pools(unseen.values_list("pk", flat=True))

    if include_space:
        _sync_space(client, budget, report, started, progress)
    return report


Fetched = tuple[IpamPool, list[dict], list[dict]]  # a pool, its CIDRs, its allocations


def _sync_space(
    client: Any, budget: RequestBudget, report: SyncReport, started: Any, progress: Progress
) -> None:
    """CIDRs and allocations: two calls per pool, fetched within the budget, written in
    batches as they come."""
    cidr_counts = report.counts.setdefault("pool CIDRs", UpsertCounts())
    allocation_counts = report.counts.setdefault("allocations", UpsertCounts())
    pools = list(
        IpamPool.objects.live().filter(region=client.meta.region_name).only("id", "pool_id")
    )

    def write(batch: list[Fetched]) -> None:
        with transaction.atomic():
            mirror.save_cidrs(((p, c) for p, cidrs, _ in batch for c in cidrs), cidr_counts)
            mirror.save_allocations(
                ((p, a) for p, _, allocations in batch for a in allocations),
                allocation_counts,
            )

    done, batch = 0, []
    workers = settings.IPAM_SYNC_WORKERS or space_workers(budget.rate)
    for fetched in _fetched(client, budget, pools, workers):
        batch.append(fetched)
        if len(batch) == SPACE_BATCH or done + len(batch) == len(pools):
            write(batch)
            done, batch = done + len(batch), []
            progress(f"CIDRs and allocations: {done}/{len(pools)} pools")
    in_region = {"pool__region": client.meta.region_name}
    report.missing["pool CIDRs"] = _not_seen(IpamPoolCidr.objects.filter(**in_region), started)
    report.missing["allocations"] = _not_seen(
        IpamPoolAllocation.objects.filter(**in_region), started
    )


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_FINISHED = object()  # a fetch thread has no pool left


def _fetched(
    client: Any, budget: RequestBudget, pools: list[IpamPool], workers: int
) -> Iterator[Fetched]:
    """Every pool's space, fetched by ``workers`` threads, in the order the fetches end.

    The threads never touch the database. They put what they fetched in a bounded queue and
    wait only when it is full (the writer is that far behind). The first error stops them
    and is raised here.
    """
    todo = iter(pools)
    todo_lock = threading.Lock()
    results: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_BATCHES * SPACE_BATCH)
    stop = threading.Event()

    def put(item: Any) -> None:
        while not stop.is_set():
            try:
                results.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def fetch() -> None:
        try:
            while not stop.is_set():
                with todo_lock:
                    pool = next(todo, None)
                if pool is None:
                    break
                put((pool, *read_space(client, budget, pool.pool_id)))
        except BaseException as error:  # handed to the writer, which raises it
            put(_Failed(error))
        finally:
            put(_FINISHED)

    workers = max(1, min(workers, len(pools)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ipam-sync") as executor:
        for _ in range(workers):
            executor.submit(fetch)
        try:
            finished = 0
            while finished < workers:
                item = results.get()
                if item is _FINISHED:
                    finished += 1
                elif isinstance(item, _Failed):
                    raise item.error
                else:
                    yield item
        finally:
            stop.set()
