"""The change log: what the app asked of AWS, and every change to the mirror's rows.

Two records, shown together:

- :class:`~pools.models.AwsCall`, one per change the app asks of AWS (every call through
  ``call_aws`` but reads, DryRuns and previews), written when AWS has answered;
- :class:`~pools.models.Change`, django-auditlog's entry, one per mirrored pool, CIDR or
  allocation created, changed or gone from AWS. The mirror writes rows in bulk, past the model
  signals auditlog listens to, so it hands each batch's changes to :func:`record_rows` and
  :func:`record_removed`, which write the entries in one statement.

Who: the request's user (:func:`acting`, from ``ipamui.middleware.ChangeActorMiddleware``),
and where from:
:data:`origin`, the app by default, the task worker or "outside ipamui" (a sync) when they say so.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import DatabaseError, models, transaction
from django.db.models import Q, QuerySet
from django.dispatch import receiver
from django.utils import timezone
from netaddr import IPNetwork

from pools.aws import AwsError, AwsUnavailable, aws_called
from pools.bulk import insert_rows
from pools.models import (
    AwsCall,
    Change,
    IpamPool,
    IpamPoolAllocation,
    IpamPoolCidr,
    IpamScope,
    Origin,
)

log = logging.getLogger(__name__)

_origin: ContextVar[str] = ContextVar("change_origin", default=Origin.APP)
READS = ("Describe", "Get", "List")


@contextmanager
def origin(value: str) -> Iterator[None]:
    """Changes recorded inside come from ``value`` (an :class:`~pools.models.Origin`)."""
    token = _origin.set(value)
    try:
        yield
    finally:
        _origin.reset(token)


@dataclass(frozen=True)
class Actor:
    user: Any  # a logged-in user, or None
    remote_addr: str | None = None


NOBODY = Actor(None)
_actor_var: ContextVar[Actor] = ContextVar("change_actor", default=NOBODY)


@contextmanager
def acting(user: Any, remote_addr: str | None = None) -> Iterator[None]:
    """What is changed inside is put on ``user`` (logged in, or None) and the address."""
    token = _actor_var.set(
        Actor(user if getattr(user, "is_authenticated", False) else None, remote_addr)
    )
    try:
        yield
    finally:
        _actor_var.reset(token)


def _actor() -> Any:
    return _actor_var.get().user


# --- AWS calls --------------------------------------------------------------------------


def records_call(action: str, params: dict[str, Any]) -> bool:
    """Whether a call is a change worth a line: not a read, a DryRun or a preview."""
    return not (action.startswith(READS) or params.get("DryRun") or params.get("PreviewNextCidr"))


def _call_pool_id(params: dict[str, Any], response: dict[str, Any] | None) -> str:
    if params.get("IpamPoolId"):
        return str(params["IpamPoolId"])
    resources = [str(r) for r in params.get("Resources") or [] if str(r).startswith("ipam-pool-")]
    if resources:
        return resources[0]
    return str(((response or {}).get("IpamPool") or {}).get("IpamPoolId", ""))


def _call_ipam_pk(params: dict[str, Any], pool_id: str) -> int | None:
    """The IPAM of the pool called about, or of the scope a new pool goes into."""
    if params.get("IpamScopeId"):
        scopes = IpamScope.objects.filter(scope_id=params["IpamScopeId"])
        return scopes.values_list("ipam_id", flat=True).first()
    if pool_id:
        return IpamPool.objects.filter(pool_id=pool_id).values_list("ipam_id", flat=True).first()
    return None


def outcome_of(error: AwsError | None) -> str:
    if error is None:
        return AwsCall.Outcome.SUCCEEDED
    if isinstance(error, AwsUnavailable):
        return AwsCall.Outcome.UNREACHABLE
    return AwsCall.Outcome.REFUSED


@receiver(aws_called, dispatch_uid="pools.changelog.record_call")
def record_call(
    *,
    action: str,
    region: str,
    params: dict[str, Any],
    response: dict[str, Any] | None,
    error: AwsError | None,
    request_id: str,
    seconds: float,
    **kwargs: Any,
) -> None:
    """Write the :class:`AwsCall` of a change asked of AWS (receiver of ``aws_called``).

    AWS has answered by now: a database that fails here must not turn that answer into an
    error, so the failure is logged and the call goes on.
    """
    if not records_call(action, params):
        return
    pool_id = _call_pool_id(params, response)
    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the caller's intact
            AwsCall.objects.create(
                user=_actor(),
                origin=_origin.get(),
                region=region,
                action=action,
                parameters=_jsonable(params),
                outcome=outcome_of(error),
                error_code=error.code if error else "",
                error_message=error.message if error else "",
                request_id=request_id[:64],
                duration_ms=round(seconds * 1000),
                ipam_id=_call_ipam_pk(params, pool_id),
                pool_aws_id=pool_id[:64],
            )
    except DatabaseError:
        log.exception("Could not record %s in the change log", action)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


# --- mirrored rows ----------------------------------------------------------------------


@dataclass(frozen=True)
class Tracked:
    """How a mirrored model's rows appear in the change log."""

    id_field: str
    label: Callable[[dict[str, Any]], str]  # the entry's object text, from the row's values
    quiet: frozenset[str]  # fields whose changes are bookkeeping, not news


_BOOKKEEPING = frozenset(
    {"id", "first_seen_at", "last_synced_at", "missing_since", "pool_id", "ipam_id", "scope_id"}
)
TRACKED: dict[type[models.Model], Tracked] = {
    IpamPool: Tracked(
        "pool_id",
        lambda row: row.get("name") or row["pool_id"],
        _BOOKKEEPING
        | {
            "arn",
            "owner_id",
            "region",
            "scope_type",
            "source_pool_id",
            "client_token",
            "follow_task_id",
            "follow_error",
            "created_by_id",
        },
    ),
    IpamPoolCidr: Tracked(
        "cidr_id", lambda row: str(row.get("cidr") or row["cidr_id"]), _BOOKKEEPING
    ),
    IpamPoolAllocation: Tracked(
        "allocation_id",
        lambda row: f"{row.get('cidr')} ({row.get('resource_type') or 'allocation'})",
        _BOOKKEEPING,
    ),
}


def _value(value: Any) -> Any:
    if isinstance(value, IPNetwork):
        return str(value)
    return _jsonable(value)


def record_rows(
    model: type[models.Model],
    *,
    created: Sequence[dict[str, Any]] = (),
    changed: Sequence[tuple[dict[str, Any], dict[str, Any]]] = (),
) -> None:
    """Entries for rows the mirror just wrote: ``created`` (their values, primary key
    included) and ``changed`` ((before, after) pairs). A change of bookkeeping fields only
    (a link, a timestamp) is not news."""
    tracked = TRACKED.get(model)
    if tracked is None or not (created or changed):
        return
    if _origin.get() == Origin.IMPORTED:
        # A Region's first sync finds everything there is: 30,000 rows for 10,000 pools, which
        # would double its time and bury the log; each row's ``first_seen_at`` says when.
        created = ()
    entries = []
    for row in created:
        changes = {
            name: [None, _value(value)]
            for name, value in row.items()
            if name not in tracked.quiet and value not in (None, "", {}, [])
        }
        entries.append((row, Change.Action.CREATE, changes))
    for before, after in changed:
        changes = {
            name: [_value(before.get(name)), _value(value)]
            for name, value in after.items()
            if name not in tracked.quiet and before.get(name) != value
        }
        if changes:
            entries.append((after, Change.Action.UPDATE, changes))
    _write(model, tracked, entries)


def record_removed(queryset: QuerySet) -> None:
    """Entries for rows about to be marked gone from AWS (``queryset``, not yet marked)."""
    tracked = TRACKED.get(queryset.model)
    if tracked is None:
        return
    names = ["pk", tracked.id_field, *_label_fields(queryset.model)]
    rows = [{**row, "id": row["pk"]} for row in queryset.values(*names)]
    _write(queryset.model, tracked, [(row, Change.Action.DELETE, {}) for row in rows])


def _label_fields(model: type[models.Model]) -> list[str]:
    if model is IpamPool:
        return ["name", "ipam_id"]
    if model is IpamPoolAllocation:
        return ["cidr", "resource_type", "pool_id"]
    return ["cidr", "pool_id"]


def _write(
    model: type[models.Model],
    tracked: Tracked,
    entries: list[tuple[dict[str, Any], int, dict[str, Any]]],
) -> None:
    if not entries:
        return
    if model is IpamPool:
        owners = {row["id"]: (row.get("ipam_id"), row["pool_id"]) for row, _, _ in entries}
    else:  # a CIDR's or an allocation's pool: its IPAM and its AWS id
        pool_pks = {row["pool_id"] for row, _, _ in entries}
        found = IpamPool.objects.filter(pk__in=pool_pks).values_list("pk", "ipam_id", "pool_id")
        by_pool = {pk: (ipam, pool_id) for pk, ipam, pool_id in found}
        owners = {row["id"]: by_pool.get(row["pool_id"], (None, "")) for row, _, _ in entries}
    actor = _actor()
    common = {
        "content_type_id": ContentType.objects.get_for_model(model).pk,
        "timestamp": timezone.now(),
        "origin": _origin.get(),
        "actor_id": actor.pk if actor else None,
        "actor_email": getattr(actor, "email", None) if actor else None,
        "remote_addr": _actor_var.get().remote_addr,
        "changes_text": "",
    }
    rows = []
    for row, action, changes in entries:
        ipam_pk, pool_aws_id = owners[row["id"]]
        rows.append(
            common
            | {
                "object_pk": str(row["id"]),
                "object_id": row["id"],
                "object_repr": tracked.label(row)[:1000],
                "action": action,
                "changes": changes,
                "ipam_id": ipam_pk,
                "pool_aws_id": pool_aws_id,
                "additional_data": {tracked.id_field: row.get(tracked.id_field, "")},
            }
        )
    insert_rows(Change, rows)


# --- reading the log --------------------------------------------------------------------

PAGE_SIZE = 50
KINDS = {"call": "AWS calls", "pool": "pools", "cidr": "CIDRs", "allocation": "allocations"}
_MODEL_OF_KIND = {"pool": IpamPool, "cidr": IpamPoolCidr, "allocation": IpamPoolAllocation}


@dataclass(frozen=True)
class Cursor:
    """Where a page of the log starts: entries older than this one (time, source, id)."""

    at: datetime.datetime
    rank: int  # 1 for AWS calls, 0 for changes: at the same instant, the call comes first
    id: int

    def __str__(self) -> str:
        return f"{self.at.isoformat()}~{self.rank}~{self.id}"

    @classmethod
    def parse(cls, text: str) -> Cursor | None:
        """The cursor in a URL, or None for anything else (hostile text included)."""
        parts = text.split("~")
        numbers = parts[1:]
        if (
            len(parts) != 3
            or len(text) > 64
            or not all(n.isascii() and n.isdigit() for n in numbers)
        ):
            return None
        at, rank, pk = parse_time(parts[0]), int(parts[1]), int(parts[2])
        if at is None or rank not in (0, 1) or not 0 < pk < 2**63:
            return None
        return cls(at, rank, pk)


def parse_time(text: str) -> datetime.datetime | None:
    """An ISO 8601 time with its zone, as pages put in URLs; None for anything else."""
    if len(text) > 40 or not text.isascii():
        return None
    try:
        at = datetime.datetime.fromisoformat(text)
        at.astimezone(datetime.UTC)  # 0001-01-01T00:00:00+14:00 has no time in UTC
    except (ValueError, OverflowError):
        return None
    return at if at.tzinfo is not None else None


@dataclass
class Entry:
    at: datetime.datetime
    rank: int
    item: AwsCall | Change

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, self.rank, self.item.pk)

    @property
    def is_call(self) -> bool:
        return self.rank == 1

    @cached_property
    def who(self) -> str:
        """The user, or where the change came from when no user made it."""
        user = self.item.user if self.is_call else self.item.actor
        return user.get_username() if user is not None else Origin(self.item.origin).label

    @cached_property
    def what(self) -> str:
        if self.is_call:
            return self.item.action
        model = self.item.content_type.model_class()
        noun = model._meta.verbose_name if model else "row"
        return f"{noun} {VERBS.get(self.item.action, 'changed')}"

    @cached_property
    def details(self) -> list[tuple[str, Any, Any]]:
        """(label, before, after) of each change; an AWS call's parameters as (name, value)."""
        if self.is_call:
            return [(k, "", v) for k, v in self.item.parameters.items() if k != "ClientToken"]
        model = self.item.content_type.model_class()
        return [
            (_label(model, name), before, after)
            for name, (before, after) in (self.item.changes or {}).items()
        ]


VERBS = {
    Change.Action.CREATE: "created",
    Change.Action.UPDATE: "changed",
    Change.Action.DELETE: "removed",
}


def _label(model: type[models.Model] | None, name: str) -> str:
    try:
        return str(model._meta.get_field(name.removesuffix("_id")).verbose_name)
    except (AttributeError, FieldDoesNotExist):  # no model, or a field since removed
        return name


def _after(cursor: Cursor | None, rank: int, field: str) -> Q:
    """Entries of the source of ``rank`` that come after ``cursor`` (newest first)."""
    if cursor is None:
        return Q()
    if rank < cursor.rank:
        return Q(**{f"{field}__lte": cursor.at})
    if rank > cursor.rank:
        return Q(**{f"{field}__lt": cursor.at})
    return Q(**{f"{field}__lt": cursor.at}) | Q(**{field: cursor.at, "pk__lt": cursor.id})


def entries(
    *,
    ipam_pk: int | None = None,
    pool_aws_id: str = "",
    origin: str = "",
    kind: str = "",
    user_pk: int | None = None,
    cursor: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[Entry], Cursor | None]:
    """A page of the log, newest first, and the cursor of the next page (None at the end).

    Two queries whatever the size of the log (each reads at most ``limit + 1`` rows by its
    (IPAM or pool, time) index), merged here.
    """
    found: list[Entry] = []
    if kind in ("", "call"):
        calls = AwsCall.objects.select_related("user").filter(_after(cursor, 1, "at"))
        calls = _filtered(calls, ipam_pk, pool_aws_id, origin, user_field="user", user_pk=user_pk)
        found += [Entry(c.at, 1, c) for c in calls.order_by("-at", "-id")[: limit + 1]]
    if kind != "call":
        changes = Change.objects.select_related("actor", "content_type").filter(
            _after(cursor, 0, "timestamp")
        )
        if kind:
            changes = changes.filter(
                content_type=ContentType.objects.get_for_model(_MODEL_OF_KIND[kind])
            )
        changes = _filtered(
            changes, ipam_pk, pool_aws_id, origin, user_field="actor", user_pk=user_pk
        )
        found += [
            Entry(c.timestamp, 0, c) for c in changes.order_by("-timestamp", "-id")[: limit + 1]
        ]
    found.sort(key=lambda e: (e.at, e.rank, e.item.pk), reverse=True)
    page = found[:limit]
    return page, (page[-1].cursor if len(found) > limit else None)


def _filtered(
    queryset: QuerySet,
    ipam_pk: int | None,
    pool_aws_id: str,
    origin: str,
    *,
    user_field: str,
    user_pk: int | None,
) -> QuerySet:
    if ipam_pk is not None:
        queryset = queryset.filter(ipam_id=ipam_pk)
    if pool_aws_id:
        queryset = queryset.filter(pool_aws_id=pool_aws_id)
    if origin:
        queryset = queryset.filter(origin=origin)
    if user_pk is not None:
        queryset = queryset.filter(**{f"{user_field}_id": user_pk})
    return queryset
