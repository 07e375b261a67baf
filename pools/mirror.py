"""AWS's IPAM shapes onto the models, member by member.

Each ``*_fields`` function turns one object of a boto3 response into model field values; the
``upsert_*`` functions write many of them in bulk (a fixed number of queries per batch).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from pools.models import (
    Ipam,
    IpamPool,
    IpamPoolAllocation,
    IpamPoolCidr,
    IpamScope,
    PoolTag,
)
from pools.rules import normalise_locale

BATCH_SIZE = 1000


def _allow_full_batches() -> None:
    """Let a batch of rows go to SQLite in one query.

    Django 5.2 assumes SQLite's historical limit of 999 variables per query and splits a bulk
    INSERT of pools (about 30 columns) into one query per 33 rows; SQLite has allowed 32766
    since 3.32, and reports its real limit. (Django 6 asks SQLite the same way.)
    """
    if connection.vendor != "sqlite":
        return
    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    connection.features.max_query_params = max(limit, 999)


def _update_batch_size(field_count: int) -> int:
    """Rows per bulk UPDATE within the database's limit on query variables.

    Each row takes two variables per field (``CASE WHEN pk = %s THEN %s``) and one in the
    ``pk IN (...)`` list; Django's own estimate counts one per field.
    """
    limit = connection.features.max_query_params or 65535  # PostgreSQL's protocol limit
    return max(1, min(BATCH_SIZE, limit // (2 * field_count + 1)))


def tag_dict(tags: Iterable[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in tags or []}


def ipam_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "arn": data.get("IpamArn", ""),
        "owner_id": data.get("OwnerId", ""),
        "region": data.get("IpamRegion", ""),
        "description": data.get("Description", ""),
        "state": data.get("State", ""),
        "state_message": data.get("StateMessage", ""),
        "tier": data.get("Tier", ""),
        "operating_regions": [r["RegionName"] for r in data.get("OperatingRegions", [])],
        "scope_count": data.get("ScopeCount", 0),
        "tags": tag_dict(data.get("Tags")),
    }


def scope_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "arn": data.get("IpamScopeArn", ""),
        "owner_id": data.get("OwnerId", ""),
        "region": data.get("IpamRegion", ""),
        "scope_type": data.get("IpamScopeType", ""),
        "is_default": data.get("IsDefault", False),
        "description": data.get("Description", ""),
        "state": data.get("State", ""),
        "pool_count": data.get("PoolCount", 0),
        "tags": tag_dict(data.get("Tags")),
    }


def pool_fields(data: dict[str, Any]) -> dict[str, Any]:
    tags = tag_dict(data.get("Tags"))
    family = data.get("AddressFamily", "ipv4")
    return {
        "arn": data.get("IpamPoolArn", ""),
        "owner_id": data.get("OwnerId", ""),
        "region": data.get("IpamRegion", ""),
        "scope_type": data.get("IpamScopeType", ""),
        "source_pool_aws_id": data.get("SourceIpamPoolId", ""),
        "locale": normalise_locale(data.get("Locale")) or "",
        "depth": data.get("PoolDepth", 1),
        "state": data.get("State", ""),
        "state_message": data.get("StateMessage", ""),
        "name": tags.get("Name", ""),
        "description": data.get("Description", ""),
        "auto_import": data.get("AutoImport", False),
        "publicly_advertisable": data.get("PubliclyAdvertisable"),
        "address_family": family,
        "allocation_min_netmask_length": data.get("AllocationMinNetmaskLength", 0),
        "allocation_max_netmask_length": data.get(
            "AllocationMaxNetmaskLength", 32 if family == "ipv4" else 128
        ),
        "allocation_default_netmask_length": data.get("AllocationDefaultNetmaskLength"),
        "allocation_resource_tags": tag_dict(data.get("AllocationResourceTags")),
        "tags": tags,
        "aws_service": data.get("AwsService", ""),
        "public_ip_source": data.get("PublicIpSource", ""),
        "source_resource": data.get("SourceResource"),
    }


def cidr_fields(data: dict[str, Any]) -> dict[str, Any]:
    failure = data.get("FailureReason") or {}
    return {
        "cidr": data.get("Cidr", ""),
        "netmask_length": data.get("NetmaskLength"),
        "state": data.get("State", ""),
        "failure_code": failure.get("Code", ""),
        "failure_message": failure.get("Message", ""),
    }


def allocation_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "cidr": data.get("Cidr", ""),
        "description": data.get("Description", ""),
        "resource_id": data.get("ResourceId", ""),
        "resource_type": data.get("ResourceType", ""),
        "resource_region": data.get("ResourceRegion", ""),
        "resource_owner": data.get("ResourceOwner", ""),
    }


@dataclass
class UpsertCounts:
    created: int = 0
    changed: int = 0
    unchanged: int = 0

    def add(self, other: UpsertCounts) -> None:
        self.created += other.created
        self.changed += other.changed
        self.unchanged += other.unchanged


def _differs(obj: Any, name: str, value: Any) -> bool:
    if isinstance(value, models.Model):
        return getattr(obj, f"{name}_id") != value.pk
    return getattr(obj, name) != value


def _bulk_upsert(
    model: type[models.Model],
    id_field: str,
    rows: dict[str, dict[str, Any]],
    counts: UpsertCounts | None = None,
) -> dict[str, Any]:
    """Insert or update rows keyed by their AWS id; returns {aws id: instance}.

    A fixed number of queries per batch, whatever the number of rows: one SELECT, one bulk
    INSERT for new rows, one bulk UPDATE for rows whose values changed, and one UPDATE that
    stamps ``last_synced_at`` on every row seen.
    """
    _allow_full_batches()
    counts = counts if counts is not None else UpsertCounts()
    now = timezone.now()
    existing = model.objects.in_bulk(list(rows), field_name=id_field)
    created, changed, changed_names, new_ids = [], [], set(), set()
    for aws_id, fields in rows.items():
        obj = existing.get(aws_id)
        if obj is None:
            obj = model(**{id_field: aws_id}, **fields, last_synced_at=now)
            created.append(obj)
            new_ids.add(aws_id)
            existing[aws_id] = obj
            continue
        names = [name for name, value in fields.items() if _differs(obj, name, value)]
        if obj.missing_since is not None:
            names.append("missing_since")
            obj.missing_since = None
        for name in names:
            if name != "missing_since":
                setattr(obj, name, fields[name])
        if names:
            changed.append(obj)
            changed_names.update(names)
    model.objects.bulk_create(created, batch_size=BATCH_SIZE)
    if changed:
        model.objects.bulk_update(
            changed, sorted(changed_names), batch_size=_update_batch_size(len(changed_names))
        )
    seen = [aws_id for aws_id in rows if aws_id not in new_ids]
    if seen:
        model.objects.filter(**{f"{id_field}__in": seen}).update(last_synced_at=now)
    counts.add(UpsertCounts(len(created), len(changed), len(rows) - len(created) - len(changed)))
    return existing


def upsert_ipams(
    items: Sequence[dict[str, Any]], counts: UpsertCounts | None = None
) -> dict[str, Ipam]:
    return _bulk_upsert(Ipam, "ipam_id", {d["IpamId"]: ipam_fields(d) for d in items}, counts)


def upsert_scopes(
    items: Sequence[dict[str, Any]],
    ipams_by_arn: dict[str, Ipam],
    counts: UpsertCounts | None = None,
) -> dict[str, IpamScope]:
    rows = {d["IpamScopeId"]: scope_fields(d) | {"ipam": ipams_by_arn[d["IpamArn"]]} for d in items}
    return _bulk_upsert(IpamScope, "scope_id", rows, counts)


def upsert_pools(
    items: Sequence[dict[str, Any]],
    *,
    ipams_by_arn: dict[str, Ipam],
    scopes_by_arn: dict[str, IpamScope],
    extra: dict[str, Any] | None = None,
    counts: UpsertCounts | None = None,
) -> dict[str, IpamPool]:
    """Upsert pools and their tag rows. Source links are set by :func:`link_sources`."""
    rows = {
        d["IpamPoolId"]: pool_fields(d)
        | {"ipam": ipams_by_arn[d["IpamArn"]], "scope": scopes_by_arn[d["IpamScopeArn"]]}
        | (extra or {})
        for d in items
    }
    counts = counts if counts is not None else UpsertCounts()
    before = counts.created + counts.changed
    pools = _bulk_upsert(IpamPool, "pool_id", rows, counts)
    if counts.created + counts.changed > before:
        replace_tags([pools[pool_id] for pool_id in rows])
    return pools


def replace_tags(pools: Sequence[IpamPool]) -> None:
    PoolTag.objects.filter(pool__in=pools).delete()
    PoolTag.objects.bulk_create(
        [PoolTag(pool=pool, key=k, value=v) for pool in pools for k, v in pool.tags.items()],
        batch_size=BATCH_SIZE,
    )


def link_sources(pool_ids: Iterable[str] | None = None) -> int:
    """Point each pool's ``source_pool`` at the row of its ``source_pool_aws_id``.

    Done in bulk after the pools of a sync are all written, so children may arrive before
    their parents. Returns the number of pools whose link changed.
    """
    _allow_full_batches()
    pools = IpamPool.objects.all()
    if pool_ids is not None:
        pools = pools.filter(pool_id__in=list(pool_ids))
    rows = list(pools.values_list("id", "source_pool_id", "source_pool_aws_id"))
    wanted = {aws_id for _, _, aws_id in rows if aws_id}
    ids = dict(IpamPool.objects.filter(pool_id__in=wanted).values_list("pool_id", "id"))
    changed = [
        pk for pk, current, aws_id in rows if current != (ids.get(aws_id) if aws_id else None)
    ]
    # The database finds each row's source itself: one UPDATE per batch, no CASE per row.
    source = IpamPool.objects.filter(pool_id=OuterRef("source_pool_aws_id"))
    for start in range(0, len(changed), BATCH_SIZE):
        IpamPool.objects.filter(pk__in=changed[start : start + BATCH_SIZE]).update(
            source_pool=Subquery(source.values("id")[:1])
        )
    return len(changed)


def save_pools(items: Sequence[dict[str, Any]], **extra: Any) -> dict[str, IpamPool]:
    """Persist pools as AWS returned them (with their scopes and IPAMs already mirrored).

    A pool saved at the same moment by another request (a sync, a double submit) makes the
    insert fail; the second attempt then finds the row and updates it.
    """
    arns = {d["IpamScopeArn"] for d in items}
    scopes = {s.arn: s for s in IpamScope.objects.select_related("ipam").filter(arn__in=arns)}
    if len(scopes) < len(arns):
        raise IpamScope.DoesNotExist(f"No mirrored scope for {sorted(arns - set(scopes))}")
    ipams = {s.ipam.arn: s.ipam for s in scopes.values()}

    def save() -> dict[str, IpamPool]:
        with transaction.atomic():
            pools = upsert_pools(items, ipams_by_arn=ipams, scopes_by_arn=scopes, extra=extra)
            link_sources([d["IpamPoolId"] for d in items])
        return pools

    try:
        return save()
    except IntegrityError:
        return save()


def save_pool(data: dict[str, Any], **extra: Any) -> IpamPool:
    """Persist one pool as AWS returned it (with its scope and IPAM already mirrored)."""
    pool = save_pools([data], **extra)[data["IpamPoolId"]]
    pool.refresh_from_db()
    return pool


def save_cidrs(
    items: Iterable[tuple[IpamPool, dict[str, Any]]], counts: UpsertCounts | None = None
) -> dict[str, IpamPoolCidr]:
    """Upsert pool CIDRs given as (pool, CIDR as AWS returned it) pairs."""
    rows = {d["IpamPoolCidrId"]: cidr_fields(d) | {"pool": pool} for pool, d in items}
    return _bulk_upsert(IpamPoolCidr, "cidr_id", rows, counts)


def save_allocations(
    items: Iterable[tuple[IpamPool, dict[str, Any]]], counts: UpsertCounts | None = None
) -> dict[str, IpamPoolAllocation]:
    """Upsert allocations given as (pool, allocation as AWS returned it) pairs."""
    rows = {d["IpamPoolAllocationId"]: allocation_fields(d) | {"pool": pool} for pool, d in items}
    return _bulk_upsert(IpamPoolAllocation, "allocation_id", rows, counts)


def mark_missing(queryset: QuerySet) -> int:
    """Record that AWS no longer has these rows (they are kept, not deleted)."""
    return queryset.filter(missing_since__isnull=True).update(missing_since=timezone.now())
