"""Plans: a pool hierarchy designed as a draft, with explicit CIDRs, before AWS has it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from awsipam.constants import MAX_TAG_VALUE_LENGTH
from planning.spec import Intent, new_key
from pools.models import AddressFamily, Ipam, IpamPool, IpamScope, IPNetworkField


class Plan(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "draft"
        APPLYING = "applying", "applying"
        APPLIED = "applied", "applied"
        ARCHIVED = "archived", "archived"

    ipam = models.ForeignKey(Ipam, on_delete=models.CASCADE, related_name="plans")
    scope = models.ForeignKey(IpamScope, on_delete=models.CASCADE, related_name="plans")
    address_family = models.CharField(max_length=4, choices=AddressFamily.choices)
    name = models.CharField(max_length=MAX_TAG_VALUE_LENGTH)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(default=1, help_text="Goes up with every change.")
    space = models.JSONField(
        default=list, blank=True, help_text="CIDRs the top-level nodes are placed in."
    )
    parent_pool = models.ForeignKey(
        IpamPool,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The live pool the plan's top-level nodes take their space from.",
    )
    based_on_sync = models.DateTimeField(
        null=True, blank=True, help_text="When the scope was last read from AWS, at validation."
    )
    validated_version = models.PositiveIntegerField(null=True, blank=True)
    findings = models.JSONField(default=list, blank=True)
    drift = models.JSONField(
        default=list, blank=True, help_text="Where AWS differs from the last apply (items)."
    )
    drift_checked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["ipam", "name"], name="plan_name_unique_per_ipam")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def error_count(self) -> int:
        return sum(1 for f in self.findings if f.get("severity") == "error")

    @property
    def warning_count(self) -> int:
        return sum(1 for f in self.findings if f.get("severity") == "warning")

    @property
    def is_validated(self) -> bool:
        return self.validated_version == self.version

    @property
    def is_editable(self) -> bool:
        """A draft, or an applied plan growing further; not while it is being applied, nor
        once archived."""
        return self.status in (self.Status.DRAFT, self.Status.APPLIED)

    @property
    def drift_count(self) -> int:
        """The drift items not ignored."""
        return sum(1 for item in self.drift or () if not item.get("ignored"))


class PlanNode(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="nodes")
    key = models.CharField(max_length=32, default=new_key, help_text="Stable across exports.")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    name = models.CharField(max_length=MAX_TAG_VALUE_LENGTH)
    locale = models.CharField(
        max_length=64, blank=True, help_text="Blank: the parent's. 'None': no locale."
    )
    intent = models.CharField(max_length=8, choices=Intent.CHOICES, default=Intent.LENGTH)
    prefix_length = models.PositiveSmallIntegerField(null=True, blank=True)
    need_count = models.PositiveIntegerField(null=True, blank=True)
    need_length = models.PositiveSmallIntegerField(null=True, blank=True)
    need_hosts = models.DecimalField(max_digits=40, decimal_places=0, null=True, blank=True)
    need_growth = models.PositiveSmallIntegerField(default=0, help_text="Percent.")
    cidr = IPNetworkField("CIDR", blank=True)
    spare_slots = models.PositiveSmallIntegerField(default=0)
    min_netmask = models.PositiveSmallIntegerField(null=True, blank=True)
    max_netmask = models.PositiveSmallIntegerField(null=True, blank=True)
    default_netmask = models.PositiveSmallIntegerField(null=True, blank=True)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    allocation_resource_tags = models.JSONField(default=dict, blank=True)
    pool = models.ForeignKey(
        IpamPool, on_delete=models.SET_NULL, null=True, blank=True, related_name="plan_nodes"
    )
    pool_aws_id = models.CharField(
        "pool ID", max_length=64, blank=True, help_text="The AWS pool the node is bound to."
    )
    applied = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the last apply gave AWS for this node (drift compares it).",
    )

    class Meta:
        ordering = ["plan", "name", "key"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "key"], name="plan_node_key_unique"),
            models.CheckConstraint(
                name="plan_node_pinned_has_cidr",
                condition=~Q(intent=Intent.CIDR) | ~Q(cidr=""),
            ),
        ]
        indexes = [models.Index(fields=["plan", "parent"])]

    def __str__(self) -> str:
        return self.name


class ApplyRun(models.Model):
    """One apply (or teardown) of a plan's version: its journal is its :class:`ApplyStep` rows.

    ``attempt`` counts the runs of one version of the plan: the steps' ClientTokens derive from
    it, so a run started again after a cancel asks AWS afresh, while a run resumed after a
    pause or a killed worker repeats nothing."""

    class Kind(models.TextChoices):
        APPLY = "apply", "apply"
        TEARDOWN = "teardown", "teardown"

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        PAUSED = "paused", "paused"
        CANCELLED = "cancelled", "cancelled"
        STALE = "stale", "stopped: AWS changed"
        DONE = "done", "done"
        FAILED = "failed", "done with failures"

    ACTIVE = (Status.QUEUED, Status.RUNNING, Status.PAUSED)

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.APPLY)
    version = models.PositiveIntegerField(help_text="The plan's version this run applies.")
    attempt = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    cascade = models.BooleanField(default=False, help_text="Teardown: DeleteIpamPool Cascade.")
    world = models.JSONField(
        default=list, blank=True, help_text="The plan's space in the mirror when it started."
    )
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan"],
                condition=Q(status__in=["queued", "running", "paused"]),
                name="apply_run_one_active_per_plan",
            ),
            models.UniqueConstraint(
                fields=["plan", "kind", "version", "attempt"], name="apply_run_attempt_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.plan} v{self.version} #{self.attempt}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class ApplyStep(models.Model):
    """One AWS call of a run, and what became of it: the journal the page shows live."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        RUNNING = "running", "running"
        WAITING = "waiting", "waiting"
        DONE = "done", "done"
        FAILED = "failed", "failed"
        HELD = "held", "held"
        CANCELLED = "cancelled", "cancelled"

    OPEN = (Status.PENDING, Status.RUNNING, Status.WAITING)

    run = models.ForeignKey(ApplyRun, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveIntegerField()
    step_id = models.CharField(max_length=64)
    node_key = models.CharField(max_length=32)
    node_name = models.CharField(max_length=MAX_TAG_VALUE_LENGTH, blank=True)
    action = models.CharField(max_length=64)
    params = models.JSONField(default=dict)
    waits_for = models.JSONField(default=list, help_text="Step ids that must be done first.")
    settles = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    client_token = models.CharField(max_length=64, blank=True)
    tries = models.PositiveIntegerField(default=0, help_text="Calls sent for this step.")
    maybe_sent = models.BooleanField(
        default=False, help_text="AWS may have carried it out: read AWS before calling again."
    )
    pool_aws_id = models.CharField(max_length=64, blank=True)
    aws_state = models.CharField(max_length=32, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    answer = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=128, blank=True)
    error_message = models.TextField(blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="What it waits for now.")
    owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    next_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "order"]
        constraints = [
            models.UniqueConstraint(fields=["run", "step_id"], name="apply_step_unique_per_run")
        ]
        indexes = [models.Index(fields=["run", "status"])]

    def __str__(self) -> str:
        return f"{self.step_id} ({self.status})"


class DriftDecision(models.Model):
    """A drift item someone chose to leave as it is, and why (until the drift goes away)."""

    class Decision(models.TextChoices):
        IGNORE = "ignore", "ignore"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="drift_decisions")
    key = models.CharField(max_length=200, help_text="The drift item's key.")
    decision = models.CharField(max_length=16, choices=Decision.choices, default=Decision.IGNORE)
    note = models.CharField(max_length=500)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan", "key"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "key"], name="drift_decision_unique_per_plan")
        ]

    def __str__(self) -> str:
        return f"{self.decision} {self.key}"
