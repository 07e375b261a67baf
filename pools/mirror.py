"""AWS's IPAM shapes onto the models, member by member.

Each ``*_fields`` function turns one object of a boto3 response into model field values; the
``upsert_*`` functions write many of them in bulk (a fixed number of queries per batch).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from netaddr import IPNetwork

from awsipam.choices import GONE_STATES
from awsipam.choices import AllocationResourceType as ResourceType
from awsipam.rules import netmask_limit, normalise_locale
from pools import changelog
from pools.bulk import check_supported, insert_rows, reserve_ids, update_rows
from pools.models import (
    Ipam,
    IpamPool,
    IpamPoolAllocation,
    IpamPoolCidr,
    IpamScope,
    PoolTag,
)

BATCH_SIZE = 1000
Arns = dict[str, int]  # primary keys by ARN

# The models the mirror writes with pools.bulk: a field bulk cannot write fails on import.
WRITTEN_IN_BULK = (Ipam, IpamScope, IpamPool, IpamPoolCidr, IpamPoolAllocation, PoolTag)
for _model in WRITTEN_IN_BULK:
    check_supported(_model)


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
            "AllocationMaxNetmaskLength", netmask_limit(family)
        ),
        "allocation_default_netmask_length": data.get("AllocationDefaultNetmaskLength"),
        "allocation_resource_tags": tag_dict(data.get("AllocationResourceTags")),
        "tags": tags,
        "aws_service": data.get("AwsService", ""),
        "public_ip_source": data.get("PublicIpSource", ""),
        "source_resource": data.get("SourceResource"),
    }


def _network(cidr: str | None) -> IPNetwork | None:
    return IPNetwork(cidr) if cidr else None


def cidr_fields(data: dict[str, Any]) -> dict[str, Any]:
    failure = data.get("FailureReason") or {}
    return {
        "cidr": _network(data.get("Cidr")),
        "netmask_length": data.get("NetmaskLength"),
        "state": data.get("State", ""),
        "failure_code": failure.get("Code", ""),
        "failure_message": failure.get("Message", ""),
    }


def allocation_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "cidr": _network(data.get("Cidr")),
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


@dataclass
class Upserted:
    """One batch written: every row's primary key by AWS id; the ids of rows new and rewritten;
    the keys of rows that have just ended."""

    pks: dict[str, int]
    created: list[str]
    updated: list[str]
    ended: list[int]  # primary keys of rows AWS now says are gone (``gone``)


NewRows = Callable[[list[dict[str, Any]]], None]


def _bulk_upsert(
    model: type[models.Model],
    id_field: str,
    rows: dict[str, dict[str, Any]],
    counts: UpsertCounts | None = None,
    before_insert: NewRows | None = None,
    mirrored: Container[str] | None = None,
    gone: Callable[[dict[str, Any]], bool] | None = None,
) -> Upserted:
    """Insert or update rows (field attnames to values) keyed by their AWS id.

    A fixed number of queries per batch, whatever the number of rows: one SELECT (of the rows
    in ``mirrored``, the ids known to be in the table, if given), one to reserve primary keys
    for the new rows and one to insert them (``before_insert`` sees them with their keys), one
    UPDATE of rows whose values changed (SQLite: per statement's worth of variables), and one
    UPDATE that stamps ``last_synced_at`` on every other row seen.
    """
    counts = counts if counts is not None else UpsertCounts()
    now = timezone.now()
    names = {name for fields in rows.values() for name in fields}
    wanted = list(rows) if mirrored is None else [i for i in rows if i in mirrored]
    existing = {  # no query when nothing is wanted
        row[id_field]: row
        for row in model.objects.filter(**{f"{id_field}__in": wanted}).values(
            "pk", id_field, "missing_since", *names
        )
    }
    new, changed, changed_names, ended = [], [], set(), []
    for aws_id, fields in rows.items():
        current = existing.get(aws_id)
        has_ended = gone is not None and gone(fields)
        if current is None:
            if not has_ended:  # (a row AWS deleted before the mirror saw it is not news)
                new.append({id_field: aws_id, **fields, "last_synced_at": now})
            continue
        differing = [name for name, value in fields.items() if current[name] != value]
        missing_since = current["missing_since"]
        if has_ended:
            if missing_since is None:
                ended.append(current["pk"])
        elif missing_since is not None:  # back in AWS
            differing.append("missing_since")
            missing_since = None
        if differing:
            # Whole rows: one UPDATE writes every changed column of every row it updates.
            changed.append(current | fields | {"missing_since": missing_since})
            changed_names.update(differing)
    pks = {aws_id: row["pk"] for aws_id, row in existing.items()}
    for row, pk in zip(new, reserve_ids(model, len(new)), strict=True):
        row[model._meta.pk.attname] = pks[row[id_field]] = pk
    if before_insert:
        before_insert(new)
    insert_rows(model, new)
    if changed:
        written = sorted(changed_names)
        pk = model._meta.pk.attname
        rows_written = [{pk: row["pk"]} | {name: row[name] for name in written} for row in changed]
        update_rows(model, rows_written, written)
    if existing:
        model.objects.filter(pk__in=[row["pk"] for row in existing.values()]).update(
            last_synced_at=now
        )
    changelog.record_rows(
        model,
        created=new,
        changed=[(existing[row[id_field]], row | {"id": row["pk"]}) for row in changed],
    )
    counts.add(UpsertCounts(len(new), len(changed), len(rows) - len(new) - len(changed)))
    created = [row[id_field] for row in new]
    return Upserted(pks, created, [row[id_field] for row in changed], ended)


def upsert_ipams(items: Sequence[dict[str, Any]], counts: UpsertCounts | None = None) -> Arns:
    """Upsert IPAMs; returns their primary keys by ARN (how scopes and pools name them)."""
    rows = {d["IpamId"]: ipam_fields(d) for d in items}
    pks = _bulk_upsert(Ipam, "ipam_id", rows, counts).pks
    return {d["IpamArn"]: pks[d["IpamId"]] for d in items}


def upsert_scopes(
    items: Sequence[dict[str, Any]], ipam_pks: Arns, counts: UpsertCounts | None = None
) -> Arns:
    """Upsert scopes of mirrored IPAMs; returns their primary keys by ARN."""
    rows = {d["IpamScopeId"]: scope_fields(d) | {"ipam_id": ipam_pks[d["IpamArn"]]} for d in items}
    pks = _bulk_upsert(IpamScope, "scope_id", rows, counts).pks
    return {d["IpamScopeArn"]: pks[d["IpamScopeId"]] for d in items}


def upsert_pools(
    items: Sequence[dict[str, Any]],
    *,
    ipam_pks: Arns,
    scope_pks: Arns,
    pool_pks: dict[str, int] | None = None,
    extra: dict[str, Any] | None = None,
    counts: UpsertCounts | None = None,
) -> dict[str, int]:
    """Upsert pools and their tag rows; returns their primary keys by pool id.

    ``pool_pks`` is every pool of the mirror (pool id to primary key), which a sync reads once
    and this keeps up to date: pools not in it are new, and each pool is linked to its source
    pool as it is written. Without it, the mirror is asked. A pool whose source pool is not
    mirrored yet is linked later by :func:`link_sources`.

    Why two ways of linking: writing pools unlinked and leaving every link to an UPDATE ...
    FROM the table afterwards (one per page, tried) writes almost every new row twice, and on
    PostgreSQL each rewrite is a new row version with entries in both indexes on
    ``source_pool``: about 0.3 s more per 10,000 pools, which took the sync benchmark from
    about 1.35 to about 1.6 times paging alone there, past its 1.5 target. Keys reserved
    before the INSERT (``reserve_ids``) let a page's rows carry their links instead.
    """
    mirrored = pool_pks
    if pool_pks is None:
        sources = {d["SourceIpamPoolId"] for d in items if d.get("SourceIpamPoolId")}
        pool_pks = dict(IpamPool.objects.filter(pool_id__in=sources).values_list("pool_id", "id"))
    rows = {}
    for d in items:
        row = pool_fields(d) | {
            "ipam_id": ipam_pks[d["IpamArn"]],
            "scope_id": scope_pks[d["IpamScopeArn"]],
        }
        _link_source(row, pool_pks)
        rows[d["IpamPoolId"]] = row | (extra or {})

    def link_new(new: list[dict[str, Any]]) -> None:
        """New pools know their keys before they are written: link those of one batch too."""
        pool_pks.update((row["pool_id"], row["id"]) for row in new)
        for row in new:
            if "source_pool_id" not in row:
                _link_source(row, pool_pks)

    upserted = _bulk_upsert(
        IpamPool,
        "pool_id",
        rows,
        counts,
        before_insert=link_new,
        mirrored=mirrored,
        gone=lambda row: row["state"] in GONE_STATES,
    )
    pool_pks.update(upserted.pks)
    if upserted.ended:
        forget_pools(upserted.ended)
    _replace_tags(
        {upserted.pks[pool_id]: rows[pool_id]["tags"] for pool_id in upserted.updated},
        {upserted.pks[pool_id]: rows[pool_id]["tags"] for pool_id in upserted.created},
    )
    return upserted.pks


def _link_source(row: dict[str, Any], pool_pks: dict[str, int]) -> None:
    """Set the row's ``source_pool_id`` if its source pool's primary key is known."""
    source = row["source_pool_aws_id"]
    if not source:
        row["source_pool_id"] = None
    elif source in pool_pks:
        row["source_pool_id"] = pool_pks[source]


def _replace_tags(changed: dict[int, dict[str, str]], new: dict[int, dict[str, str]]) -> None:
    """Rewrite the searchable tag rows of changed pools, and write those of new pools."""
    if changed:
        PoolTag.objects.filter(pool_id__in=list(changed)).delete()
    rows = [
        {"pool_id": pk, "key": key, "value": value}
        for tags in (changed, new)
        for pk, pool_tags in tags.items()
        for key, value in pool_tags.items()
    ]
    insert_rows(PoolTag, rows)


def link_sources() -> int:
    """Point each pool's ``source_pool`` at the row of its ``source_pool_aws_id``.

    Catches the links :func:`upsert_pools` could not set (a child written before its source
    pool). Returns the number of pools whose link changed.
    """
    rows = list(IpamPool.objects.values_list("id", "source_pool_id", "source_pool_aws_id"))
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


def save_pools(items: Sequence[dict[str, Any]], **extra: Any) -> dict[str, int]:
    """Persist pools as AWS returned them (with their scopes and IPAMs already mirrored).

    Returns their primary keys by pool id. A pool saved at the same moment by another request
    (a sync, a double submit) makes the insert fail; the second attempt then finds the row and
    updates it.
    """
    arns = {d["IpamScopeArn"] for d in items}
    scopes = IpamScope.objects.filter(arn__in=arns).values_list("arn", "id", "ipam__arn", "ipam")
    scope_pks = {arn: pk for arn, pk, _, _ in scopes}
    if len(scope_pks) < len(arns):
        raise IpamScope.DoesNotExist(f"No mirrored scope for {sorted(arns - set(scope_pks))}")
    ipam_pks = {arn: pk for _, _, arn, pk in scopes}

    def save() -> dict[str, int]:
        with transaction.atomic():
            return upsert_pools(items, ipam_pks=ipam_pks, scope_pks=scope_pks, extra=extra)

    try:
        return save()
    except IntegrityError:
        return save()


def save_pool(data: dict[str, Any], **extra: Any) -> IpamPool:
    """Persist one pool as AWS returned it (with its scope and IPAM already mirrored)."""
    return IpamPool.objects.get(pk=save_pools([data], **extra)[data["IpamPoolId"]])


def save_cidrs(
    items: Iterable[tuple[IpamPool, dict[str, Any]]], counts: UpsertCounts | None = None
) -> dict[str, int]:
    """Upsert pool CIDRs given as (pool, CIDR as AWS returned it) pairs; primary keys by id."""
    rows = {d["IpamPoolCidrId"]: cidr_fields(d) | {"pool_id": pool.pk} for pool, d in items}
    return _bulk_upsert(IpamPoolCidr, "cidr_id", rows, counts).pks


def save_allocations(
    items: Iterable[tuple[IpamPool, dict[str, Any]]], counts: UpsertCounts | None = None
) -> dict[str, int]:
    """Upsert allocations given as (pool, allocation as AWS returned it) pairs; keys by id."""
    rows = {
        d["IpamPoolAllocationId"]: allocation_fields(d) | {"pool_id": pool.pk} for pool, d in items
    }
    return _bulk_upsert(IpamPoolAllocation, "allocation_id", rows, counts).pks


def forget_pools(pks: Iterable[int]) -> int:
    """Pools AWS has deleted, with every descendant (AWS deletes them first), their CIDRs and
    allocations, and their space in their source pools: marked gone, so no tree, map, count or
    free-space check sees them, and their space is free at once. Returns the pools marked."""
    pks = set(pks)
    if not pks:
        return 0
    level = pks
    while level:  # a level of descendants per query; depth is at most 10
        level = set(
            IpamPool.objects.live()
            .filter(source_pool__in=level)
            .exclude(pk__in=pks)
            .values_list("pk", flat=True)
        )
        pks |= level
    pool_ids = IpamPool.objects.filter(pk__in=pks).values("pool_id")
    mark_missing(
        IpamPoolAllocation.objects.filter(
            Q(pool__in=pks) | Q(resource_type=ResourceType.IPAM_POOL, resource_id__in=pool_ids)
        )
    )
    mark_missing(IpamPoolCidr.objects.filter(pool__in=pks))
    return mark_missing(IpamPool.objects.filter(pk__in=pks))


def mark_missing(queryset: QuerySet) -> int:
    """Record that AWS no longer has these rows (they are kept, not deleted, and the change
    log says so)."""
    rows = queryset.filter(missing_since__isnull=True)
    changelog.record_removed(rows)
    return rows.update(missing_since=timezone.now())
