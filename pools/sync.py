"""Import what AWS has into the mirror: IPAMs, scopes, pools (all pages), CIDRs, allocations.

Writes go in bulk, a page at a time, so SQL queries grow with pages, not with pools. What AWS
no longer has is marked (``missing_since``), never deleted. A second run changes nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from pools import changelog, mirror
from pools.aws import ec2_client, pages
from pools.mirror import UpsertCounts
from pools.models import Ipam, IpamPool, IpamPoolAllocation, IpamPoolCidr, IpamScope, Origin
from pools.services import read_pool_space

PAGE_SIZE = 1000
SPACE_WORKERS = 4  # concurrent GetIpamPoolCidrs / GetIpamPoolAllocations calls
SPACE_BATCH = 200  # pools whose CIDRs and allocations are written together

Progress = Callable[[str], None]
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


def _sync_ipams_and_scopes(client: Any, report: SyncReport) -> tuple[mirror.Arns, mirror.Arns]:
    """Every IPAM and scope of the Region; their primary keys by ARN."""
    counts = report.counts.setdefault("IPAMs", UpsertCounts())
    ipam_pks: mirror.Arns = {}
    for page in pages(client.describe_ipams, "Ipams", MaxResults=PAGE_SIZE):
        ipam_pks |= mirror.upsert_ipams(page, counts)
    counts = report.counts.setdefault("scopes", UpsertCounts())
    scope_pks: mirror.Arns = {}
    for page in pages(client.describe_ipam_scopes, "IpamScopes", MaxResults=PAGE_SIZE):
        # A scope of an IPAM created since DescribeIpams waits for the next sync.
        page = [d for d in page if d["IpamArn"] in ipam_pks]
        scope_pks |= mirror.upsert_scopes(page, ipam_pks, counts)
    return ipam_pks, scope_pks


def sync_all(*, include_space: bool = True, progress: Progress | None = None) -> SyncReport:
    """Everything of the client's Region; what changed is put in the change log as changed
    outside ipamui (the app's own changes are in the mirror already, so they do not show),
    or, on the Region's first sync, as first read from AWS."""
    first = not IpamPool.objects.filter(region=ec2_client().meta.region_name).exists()
    with _cyclic_gc_paused(), changelog.origin(Origin.IMPORTED if first else Origin.OUTSIDE):
        return _sync(include_space, progress or (lambda message: None))


def _sync(include_space: bool, progress: Progress) -> SyncReport:
    client = ec2_client()
    region = client.meta.region_name  # IPAM objects are regional: other Regions' stay as they are
    report = SyncReport()
    started = timezone.now()

    ipam_pks, scope_pks = _sync_ipams_and_scopes(client, report)
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
    pool_pages = pages(client.describe_ipam_pools, "IpamPools", MaxResults=PAGE_SIZE)
    for page in prefetched(pool_pages):
        if not {d["IpamScopeArn"] for d in page} <= scope_pks.keys():  # created meanwhile
            ipam_pks, scope_pks = _sync_ipams_and_scopes(client, SyncReport())
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
    report.missing["pools"] = _not_seen(IpamPool.objects.filter(region=region), started)

    if include_space:
        _sync_space(client, report, started, progress)
    return report


def _sync_space(client: Any, report: SyncReport, started: Any, progress: Progress) -> None:
    """CIDRs and allocations: two calls per pool (AWS has no bulk form), written in batches."""
    cidr_counts = report.counts.setdefault("pool CIDRs", UpsertCounts())
    allocation_counts = report.counts.setdefault("allocations", UpsertCounts())
    pools = list(
        IpamPool.objects.live().filter(region=client.meta.region_name).only("id", "pool_id")
    )

    def fetch(pool: IpamPool) -> tuple[IpamPool, list[dict], list[dict]]:
        return pool, *read_pool_space(client, pool.pool_id)

    done = 0
    with ThreadPoolExecutor(max_workers=SPACE_WORKERS) as executor:
        for start in range(0, len(pools), SPACE_BATCH):
            batch = list(executor.map(fetch, pools[start : start + SPACE_BATCH]))
            with transaction.atomic():
                mirror.save_cidrs(((p, c) for p, cidrs, _ in batch for c in cidrs), cidr_counts)
                mirror.save_allocations(
                    ((p, a) for p, _, allocations in batch for a in allocations),
                    allocation_counts,
                )
            done += len(batch)
            progress(f"CIDRs and allocations: {done}/{len(pools)} pools")
    in_region = {"pool__region": client.meta.region_name}
    report.missing["pool CIDRs"] = _not_seen(IpamPoolCidr.objects.filter(**in_region), started)
    report.missing["allocations"] = _not_seen(
        IpamPoolAllocation.objects.filter(**in_region), started
    )
