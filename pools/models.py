"""A mirror of AWS's IPAM objects, plus local bookkeeping.

Every AWS-owned field holds what AWS last answered; nothing here is written unless AWS has it.
``missing_since`` records that a sync no longer found the object in AWS (rows are kept, not
deleted, so history and links survive).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from auditlog.models import AbstractLogEntry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from netaddr import AddrFormatError, IPNetwork

from awsipam import choices, rules
from awsipam.choices import (
    DELETED_STATES,
    IN_PROGRESS_STATES,
    LIVE_CIDR_STATES,
    SPACE_CIDR_STATES,
    USABLE_POOL_STATES,
)
from awsipam.constants import (
    FAMILY_VERSION,
    MAX_POOL_DEPTH,
    MAX_TAG_KEY_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    NETMASK_LIMITS,
)


def text_choices(enum: type[StrEnum]) -> type[models.TextChoices]:
    """Django's choices for one of :mod:`awsipam.choices`' enumerations, with its labels."""
    members = [
        (m.name, (m.value, choices.LABELS[m]) if m in choices.LABELS else m.value) for m in enum
    ]
    return models.TextChoices(enum.__name__, members)


State = text_choices(choices.PoolState)
CidrState = text_choices(choices.CidrState)
AddressFamily = text_choices(choices.AddressFamily)
ScopeType = text_choices(choices.ScopeType)
AwsService = text_choices(choices.AwsService)
PublicIpSource = text_choices(choices.PublicIpSource)
Tier = text_choices(choices.Tier)


def unique_aws_id(field: str) -> models.UniqueConstraint:
    """AWS ids are unique: a constraint rather than ``unique=True``, since on PostgreSQL Django
    adds to a unique text field a second, LIKE-pattern index that no query here uses and that
    every row a sync inserts pays for."""
    return models.UniqueConstraint(fields=[field], name=f"unique_{field}")


class IPNetworkField(models.CharField):
    """A CIDR, read back as a :class:`netaddr.IPNetwork` (as NetBox's ``IPNetworkField``), so
    lists sort by address, not as text. Stored as AWS writes it; empty is ``None``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return IPNetwork(value) if value else None

    def to_python(self, value: Any) -> IPNetwork | None:
        if value in (None, "") or isinstance(value, IPNetwork):
            return value or None
        try:
            return IPNetwork(value)
        except (AddrFormatError, TypeError, ValueError) as exc:
            raise ValidationError(f"{value} is not a CIDR.", code="invalid") from exc

    def get_prep_value(self, value: Any) -> str:
        return "" if value is None else str(value)

    def value_to_string(self, obj: models.Model) -> str:
        return self.get_prep_value(self.value_from_object(obj))


class MirrorQuerySet(models.QuerySet):
    def live(self) -> MirrorQuerySet:
        """Rows of objects AWS still has (a sync marks the others ``missing_since``)."""
        return self.filter(missing_since__isnull=True)


class PoolQuerySet(MirrorQuerySet):
    def not_deleted(self) -> PoolQuerySet:
        """Live pools that are not being deleted: those that can still hold space."""
        return self.live().exclude(state__in=DELETED_STATES)


class CidrQuerySet(MirrorQuerySet):
    def holding_space(self) -> CidrQuerySet:
        """Live CIDRs provisioned or on their way to it."""
        return self.live().filter(state__in=LIVE_CIDR_STATES).exclude(cidr="")

    def with_space(self) -> CidrQuerySet:
        """Live CIDRs whose space the pool can hand out."""
        return self.live().filter(state__in=SPACE_CIDR_STATES)


def by_address(rows: Iterable[Any], attribute: str = "cidr") -> list[Any]:
    """Rows in address order of their CIDR (IPv4 first, then IPv6; none last)."""

    def key(row: Any) -> tuple:
        network = getattr(row, attribute)
        return (0, *network.sort_key()) if network is not None else (1,)

    return sorted(rows, key=key)


class AwsMirror(models.Model):
    """Bookkeeping shared by every mirrored AWS object."""

    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    missing_since = models.DateTimeField(
        null=True, blank=True, help_text="When a sync last found that AWS no longer has this."
    )

    objects = MirrorQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def in_aws(self) -> bool:
        return self.missing_since is None


class Ipam(AwsMirror):
    ipam_id = models.CharField("IPAM ID", max_length=64)
    arn = models.CharField("ARN", max_length=256)
    owner_id = models.CharField(max_length=32)
    region = models.CharField("home Region", max_length=32)
    description = models.TextField(blank=True)
    state = models.CharField(max_length=32, choices=State.choices)
    state_message = models.TextField(blank=True)
    tier = models.CharField(max_length=16, choices=Tier.choices, blank=True)
    operating_regions = models.JSONField(default=list)
    scope_count = models.PositiveSmallIntegerField(default=0)
    tags = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "IPAM"
        ordering = ["ipam_id"]
        constraints = [unique_aws_id("ipam_id")]

    def __str__(self) -> str:
        return self.tags.get("Name") or self.description or self.ipam_id


class IpamScope(AwsMirror):
    scope_id = models.CharField("scope ID", max_length=64)
    arn = models.CharField("ARN", max_length=256)
    ipam = models.ForeignKey(Ipam, on_delete=models.CASCADE, related_name="scopes")
    owner_id = models.CharField(max_length=32)
    region = models.CharField(max_length=32)
    scope_type = models.CharField(max_length=16, choices=ScopeType.choices)
    is_default = models.BooleanField(default=False)
    description = models.TextField(blank=True)
    state = models.CharField(max_length=32, choices=State.choices)
    pool_count = models.PositiveIntegerField(default=0)
    tags = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "IPAM scope"
        ordering = ["ipam_id", "-is_default", "scope_type", "scope_id"]
        constraints = [unique_aws_id("scope_id")]

    def __str__(self) -> str:
        label = self.tags.get("Name") or self.description
        if not label:
            label = f"{'default ' if self.is_default else ''}{self.scope_type} scope"
        return f"{label} ({self.scope_id})"


class IpamPool(AwsMirror):
    pool_id = models.CharField("pool ID", max_length=64)
    arn = models.CharField("ARN", max_length=256)
    ipam = models.ForeignKey(Ipam, on_delete=models.CASCADE, related_name="pools")
    # Indexed by (scope, source_pool) below.
    scope = models.ForeignKey(
        IpamScope, on_delete=models.CASCADE, related_name="pools", db_index=False
    )
    source_pool = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children"
    )
    source_pool_aws_id = models.CharField(
        "source pool ID", max_length=64, blank=True, help_text="As AWS gave it."
    )
    owner_id = models.CharField(max_length=32)
    region = models.CharField("IPAM Region", max_length=32)
    scope_type = models.CharField(max_length=16, choices=ScopeType.choices)
    locale = models.CharField(max_length=64, blank=True, help_text="Blank: no locale.")
    depth = models.PositiveSmallIntegerField("pool depth", default=1)
    state = models.CharField(max_length=32, choices=State.choices)
    state_message = models.TextField(blank=True)
    name = models.CharField(max_length=MAX_TAG_VALUE_LENGTH, blank=True, help_text="The Name tag.")
    description = models.TextField(blank=True)
    auto_import = models.BooleanField(default=False)
    publicly_advertisable = models.BooleanField(null=True, blank=True)
    address_family = models.CharField(max_length=4, choices=AddressFamily.choices)
    allocation_min_netmask_length = models.PositiveSmallIntegerField(default=0)
    # No default: AWS always gives it (the family's limit when the request left it out).
    allocation_max_netmask_length = models.PositiveSmallIntegerField()
    allocation_default_netmask_length = models.PositiveSmallIntegerField(null=True, blank=True)
    allocation_resource_tags = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    aws_service = models.CharField(max_length=32, choices=AwsService.choices, blank=True)
    public_ip_source = models.CharField(max_length=16, choices=PublicIpSource.choices, blank=True)
    source_resource = models.JSONField(null=True, blank=True)

    client_token = models.CharField(max_length=64, blank=True)
    follow_task_id = models.CharField(
        max_length=64, blank=True, help_text="The task following what AWS does with the pool."
    )
    follow_error = models.TextField(
        blank=True, help_text="Why that task's last look at AWS failed (it tries again)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = PoolQuerySet.as_manager()

    class Meta:
        verbose_name = "IPAM pool"
        ordering = ["scope_id", "depth", "pool_id"]
        permissions = [("sync_ipam", "Can read everything again from AWS (sync)")]
        indexes = [
            models.Index(fields=["scope", "source_pool"]),
            models.Index(fields=["name"]),
        ]
        constraints = [
            unique_aws_id("pool_id"),
            models.CheckConstraint(
                name="pool_netmask_min_le_max",
                condition=Q(allocation_min_netmask_length__lte=F("allocation_max_netmask_length")),
            ),
            models.CheckConstraint(
                name="pool_netmask_within_family",
                condition=Q(
                    *(
                        Q(address_family=family, allocation_max_netmask_length__lte=limit)
                        for family, limit in NETMASK_LIMITS.items()
                    ),
                    _connector=Q.OR,
                ),
            ),
            models.CheckConstraint(
                name="pool_netmask_default_within_range",
                condition=Q(allocation_default_netmask_length__isnull=True)
                | Q(
                    allocation_default_netmask_length__gte=F("allocation_min_netmask_length"),
                    allocation_default_netmask_length__lte=F("allocation_max_netmask_length"),
                ),
            ),
            models.CheckConstraint(
                name="pool_depth_within_quota",
                condition=Q(depth__gte=1, depth__lte=MAX_POOL_DEPTH),
            ),
        ]

    def __str__(self) -> str:
        label = self.name or self.description
        return f"{label} ({self.pool_id})" if label else self.pool_id

    @property
    def is_usable(self) -> bool:
        return self.state in USABLE_POOL_STATES

    @property
    def can_take_child(self) -> bool:
        return rules.can_take_child(self.state, self.depth)

    @property
    def is_deleting(self) -> bool:
        """Being deleted, or deleted (AWS lists a deleted pool for a while)."""
        return self.state in DELETED_STATES

    @property
    def is_settling(self) -> bool:
        return self.state in IN_PROGRESS_STATES


class IpamPoolCidr(AwsMirror):
    cidr_id = models.CharField("pool CIDR ID", max_length=64)
    pool = models.ForeignKey(IpamPool, on_delete=models.CASCADE, related_name="cidrs")
    cidr = IPNetworkField("CIDR", blank=True, help_text="None while AWS has given no CIDR.")
    netmask_length = models.PositiveSmallIntegerField(null=True, blank=True)
    state = models.CharField(max_length=32, choices=CidrState.choices)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)

    objects = CidrQuerySet.as_manager()

    class Meta:
        verbose_name = "pool CIDR"
        verbose_name_plural = "pool CIDRs"
        ordering = ["pool_id", "cidr"]
        constraints = [unique_aws_id("cidr_id")]

    def __str__(self) -> str:
        return str(self.cidr or self.cidr_id)


class IpamPoolAllocation(AwsMirror):
    allocation_id = models.CharField("allocation ID", max_length=64)
    pool = models.ForeignKey(IpamPool, on_delete=models.CASCADE, related_name="allocations")
    cidr = IPNetworkField("CIDR")
    description = models.TextField(blank=True)
    resource_id = models.CharField(max_length=128, blank=True)
    resource_type = models.CharField(max_length=32, blank=True)
    resource_region = models.CharField(max_length=32, blank=True)
    resource_owner = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = "pool allocation"
        ordering = ["pool_id", "cidr"]
        constraints = [unique_aws_id("allocation_id")]

    def __str__(self) -> str:
        return f"{self.cidr} ({self.resource_type or 'allocation'})"


class PoolTag(models.Model):
    """A pool's tags as rows, so they can be searched and filtered."""

    # Indexed by the unique (pool, key) below.
    pool = models.ForeignKey(
        IpamPool, on_delete=models.CASCADE, related_name="tag_rows", db_index=False
    )
    key = models.CharField(max_length=MAX_TAG_KEY_LENGTH)
    value = models.CharField(max_length=MAX_TAG_VALUE_LENGTH, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pool", "key"], name="pool_tag_unique_key")]
        indexes = [models.Index(fields=["key", "value"])]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class PoolCreation(models.Model):
    """A CreateIpamPool call, recorded with its ClientToken before AWS is called.

    A retry or a double submit with the same token is answered from here (or by AWS's own
    idempotency), so one form submission makes at most one pool.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        CREATED = "created"
        FAILED = "failed", "created, then failed in AWS"
        REFUSED = "refused"
        UNREACHABLE = "unreachable"

    client_token = models.CharField(max_length=64, unique=True)
    request = models.JSONField(help_text="The CreateIpamPool request, as sent.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error_code = models.CharField(max_length=128, blank=True)
    error_message = models.TextField(blank=True)
    pool = models.ForeignKey(IpamPool, on_delete=models.SET_NULL, null=True, blank=True)
    first_cidr = models.CharField(max_length=64, blank=True)
    first_netmask_length = models.PositiveSmallIntegerField(null=True, blank=True)
    first_cidr_note = models.TextField(blank=True, help_text="What became of the first CIDR.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.client_token} ({self.status})"


class Origin(models.TextChoices):
    """Who made a change: a user through the app, the app's task worker following up on one,
    someone outside the app (found by a sync), or nobody: the first sync of a Region, which
    finds everything there is."""

    APP = "app", "ipamui"
    WORKER = "worker", "ipamui (task worker)"
    OUTSIDE = "outside", "changed outside ipamui"
    IMPORTED = "imported", "first read from AWS"


class AwsCall(models.Model):
    """A change asked of AWS by the app: who asked, which action with which parameters, and
    what AWS answered (its request id, or its refusal)."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded"
        REFUSED = "refused"
        UNREACHABLE = "unreachable", "AWS unreachable"

    at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.APP)
    region = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=64)
    parameters = models.JSONField(default=dict)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error_code = models.CharField(max_length=128, blank=True)
    error_message = models.TextField(blank=True)
    request_id = models.CharField("AWS request ID", max_length=64, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    ipam = models.ForeignKey(
        Ipam, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pool_aws_id = models.CharField("pool ID", max_length=64, blank=True)

    class Meta:
        verbose_name = "AWS call"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["ipam", "-at", "-id"]),
            models.Index(fields=["pool_aws_id", "-at", "-id"]),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.pool_aws_id} ({self.outcome})"


class Change(AbstractLogEntry):
    """A change to a mirrored row (created, changed, gone from AWS), in django-auditlog's shape
    with the IPAM, the pool and the origin as columns, so the change log filters by index."""

    ipam = models.ForeignKey(
        Ipam, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pool_aws_id = models.CharField("pool ID", max_length=64, blank=True)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.APP)

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "change"
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["ipam", "-timestamp", "-id"]),
            models.Index(fields=["pool_aws_id", "-timestamp", "-id"]),
        ]


class ScheduledSync(models.Model):
    """A run of the periodic sync (``IPAM_SYNC_INTERVAL``): queued, then run by the worker,
    which queues the next. At most one is waiting at a time."""

    region = models.CharField(max_length=32)
    task_id = models.CharField(max_length=64, blank=True)
    run_after = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(default=list, blank=True, help_text="What the sync found.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-run_after", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["region"],
                condition=Q(started_at__isnull=True),
                name="one_waiting_sync_per_region",
            )
        ]

    def __str__(self) -> str:
        return f"sync of {self.region} after {self.run_after:%Y-%m-%d %H:%M}"


class Reservation(models.Model):
    """A block of address space held outside AWS's pools: by a plan, by an external network
    (on-premises, another cloud) or excluded from use. Every plan, the creation form and the
    free-space views see the ledger, so two holders never claim one block.

    A plan's rows are written by the planner each time the plan changes (its unbound nodes'
    outermost blocks), so this app never needs to know what a plan is.
    """

    class Kind(models.TextChoices):
        PLAN = "plan", "held by a plan"
        EXTERNAL = "external", "external network"
        EXCLUDED = "excluded", "excluded"

    ipam = models.ForeignKey(Ipam, on_delete=models.CASCADE, related_name="reservations")
    address_family = models.CharField(max_length=4, choices=AddressFamily.choices)
    cidr = IPNetworkField("CIDR")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.EXTERNAL)
    name = models.CharField(max_length=MAX_TAG_VALUE_LENGTH)
    note = models.TextField(blank=True)
    plan_id = models.PositiveBigIntegerField(
        null=True, blank=True, db_index=True, help_text="The plan holding the block, if one."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ipam", "address_family", "cidr"]
        indexes = [models.Index(fields=["ipam", "address_family"])]

    def __str__(self) -> str:
        return f"{self.cidr} ({self.name})"

    def clean(self) -> None:
        version = FAMILY_VERSION.get(self.address_family)
        # as a form leaves it: text, or empty when its field was refused
        cidr = self._meta.get_field("cidr").to_python(self.cidr)
        if cidr is not None and cidr.version != version:
            raise ValidationError({"cidr": f"{cidr} is not an {self.address_family} CIDR."})
