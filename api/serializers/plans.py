"""Plans as the API shows them (a plan, its nodes, findings, diff and apply runs), and the
bodies of the changes made to them.

The bodies are typed and bounded here; every rule is judged by the plan pages' own forms
(:mod:`planning.forms`, :mod:`planning.start_forms`) and the plan document's reader
(:func:`planning.formats.from_document`), with the codes they give on the pages.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.pools import TagsField, netmask, text
from awsipam import constants
from planning import formats
from planning.models import ApplyRun, ApplyStep, Plan
from planning.spec import Intent, NodeSpec
from pools.models import AddressFamily

KEY_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"  # a node key the API's addresses can carry
MAX_SPACE_CIDRS = 50  # as the plan forms
BIG = 1 << 70  # numbers beyond any rule's range; the forms judge within it
NODE_DOCUMENT = {
    "type": "object",
    "description": (
        "A node of the plan document (schema version 1, published at "
        "`/plans/schema/v1.json`): `id`, `parent`, `name`, `intent`, `locale`, "
        "`spare_slots`, `allocation`, `tags`, `allocation_resource_tags`, `description`, "
        "`pool_id`."
    ),
    "additionalProperties": True,
}
DOCUMENT = {
    "type": "object",
    "description": (
        "A plan document (schema version 1, as exported: `schema_version`, `name`, "
        "`address_family`, `nodes`...). Its nodes replace the plan's; the plan keeps its "
        "name, scope and space."
    ),
    "additionalProperties": True,
}


def enum(values: Any, **kwargs: Any) -> serializers.CharField:
    """Text of a fixed set, described inline: the plan's, the run's and the step's
    ``status`` are different sets, which the schema's shared enums (named by the field
    alone) would make collide."""
    field = type("EnumField", (serializers.CharField,), {})
    schema = {"allOf": [{"type": "string", "enum": list(values)}]}
    kwargs.setdefault("help_text", "One of: " + ", ".join(values) + ".")
    return extend_schema_field(schema)(field)(**kwargs)


def number(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, allow_null=True, min_value=-BIG, max_value=BIG, **kwargs
    )


# --- reading ----------------------------------------------------------------------------


class RunSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = enum(ApplyRun.Kind.values)
    status = enum(ApplyRun.Status.values)
    version = serializers.IntegerField(help_text="The plan's version the run applies.")
    attempt = serializers.IntegerField()
    total = serializers.IntegerField(help_text="Steps (AWS calls) in the journal.")
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="Steps by status (pending, done...)."
    )
    url = serializers.CharField()


def run_summary(run: ApplyRun, counts: dict[str, int]) -> dict[str, Any]:
    full = {status: counts.get(status, 0) for status in ApplyStep.Status.values}
    return {
        "id": run.pk,
        "kind": run.kind,
        "status": run.status,
        "version": run.version,
        "attempt": run.attempt,
        "total": sum(full.values()),
        "counts": full,
        "url": reverse("api:plan-run-detail", args=[run.plan_id, run.pk]),
    }


class PlanSerializer(serializers.ModelSerializer):
    ipam_id = serializers.CharField(source="ipam.ipam_id", read_only=True)
    scope_id = serializers.CharField(source="scope.scope_id", read_only=True)
    parent_pool_id = serializers.SerializerMethodField()
    space = serializers.ListField(child=serializers.CharField(), read_only=True)
    validated = serializers.BooleanField(source="is_validated", read_only=True)
    editable = serializers.BooleanField(source="is_editable", read_only=True)
    error_count = serializers.IntegerField(read_only=True)
    warning_count = serializers.IntegerField(read_only=True)
    drift_count = serializers.IntegerField(read_only=True)
    status = enum(Plan.Status.values, read_only=True)
    node_count = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Plan
        fields = [
            "id",
            "url",
            "name",
            "description",
            "ipam_id",
            "scope_id",
            "address_family",
            "space",
            "parent_pool_id",
            "status",
            "version",
            "validated",
            "validated_version",
            "editable",
            "error_count",
            "warning_count",
            "drift_count",
            "node_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_parent_pool_id(self, plan: Plan) -> str | None:
        return plan.parent_pool.pool_id if plan.parent_pool_id else None

    def get_url(self, plan: Plan) -> str:
        return reverse("api:plan-detail", args=[plan.pk])


class PlanDetailSerializer(PlanSerializer):
    stale = serializers.SerializerMethodField(
        help_text="AWS was read again since the plan was last judged: validate it again."
    )
    latest_run = serializers.SerializerMethodField()

    class Meta(PlanSerializer.Meta):
        fields = [
            *PlanSerializer.Meta.fields,
            "based_on_sync",
            "drift_checked_at",
            "stale",
            "latest_run",
        ]
        read_only_fields = fields

    def get_stale(self, plan: Plan) -> bool:
        return self.context["stale"]

    @extend_schema_field(RunSummarySerializer(allow_null=True))
    def get_latest_run(self, plan: Plan) -> dict[str, Any] | None:
        return self.context["latest_run"]


class NodeSerializer(serializers.Serializer):
    """A node as the plan has it: what it asks for, and the CIDR the packer gave it."""

    key = serializers.CharField()
    name = serializers.CharField()
    parent = serializers.CharField(allow_null=True, help_text="The parent's key; null: top.")
    depth = serializers.IntegerField(help_text="1 for a top-level node.")
    intent = serializers.ChoiceField(choices=Intent.CHOICES)
    prefix_length = serializers.IntegerField(allow_null=True)
    need_count = serializers.IntegerField(allow_null=True)
    need_length = serializers.IntegerField(allow_null=True)
    need_hosts = serializers.IntegerField(allow_null=True)
    need_growth = serializers.IntegerField(allow_null=True)
    cidr = serializers.CharField(
        allow_null=True, help_text="Pinned, placed by the packer, or the bound pool's."
    )
    locale = serializers.CharField(
        allow_null=True, help_text='null: the parent\'s; "None": no locale; else a Region.'
    )
    spare_slots = serializers.IntegerField()
    min_netmask = serializers.IntegerField(allow_null=True)
    max_netmask = serializers.IntegerField(allow_null=True)
    default_netmask = serializers.IntegerField(allow_null=True)
    description = serializers.CharField()
    tags = TagsField()
    allocation_resource_tags = TagsField()
    pool_id = serializers.CharField(allow_null=True, help_text="The AWS pool it is bound to.")


def node_body(node: NodeSpec, depth: int) -> dict[str, Any]:
    need = node.need if node.intent == Intent.NEED else None
    return {
        "key": node.key,
        "name": node.name,
        "parent": node.parent,
        "depth": depth,
        "intent": node.intent,
        "prefix_length": node.prefix_length if node.intent == Intent.LENGTH else None,
        "need_count": need.count if need else None,
        "need_length": need.length if need else None,
        "need_hosts": need.hosts if need else None,
        "need_growth": need.growth if need else None,
        "cidr": str(node.cidr) if node.cidr is not None else None,
        "locale": node.locale,
        "spare_slots": node.spare_slots,
        "min_netmask": node.min_netmask,
        "max_netmask": node.max_netmask,
        "default_netmask": node.default_netmask,
        "description": node.description,
        "tags": dict(node.tags),
        "allocation_resource_tags": dict(node.allocation_resource_tags),
        "pool_id": node.pool_id or None,
    }


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["error", "warning"])
    node = serializers.CharField(allow_null=True, help_text="The node's key; null: the plan.")
    node_name = serializers.CharField(allow_null=True)
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()
    fix = serializers.CharField()


class FindingsSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    validated = serializers.BooleanField(help_text="Judged at the plan's current version.")
    stale = serializers.BooleanField()
    error_count = serializers.IntegerField()
    warning_count = serializers.IntegerField()
    findings = FindingSerializer(many=True)


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    node = serializers.CharField(allow_null=True)


class ChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.CharField()
    after = serializers.CharField()


class NodeDiffSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    kind = enum(["create", "change", "unchanged", "blocked"])
    depth = serializers.IntegerField()
    pool_id = serializers.CharField()
    cidr = serializers.CharField()
    changes = ChangeSerializer(many=True)
    reasons = ReasonSerializer(many=True)


class StepSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="The call's place in the order (from 1).")
    id = serializers.CharField()
    action = serializers.CharField(help_text="The EC2 API action.")
    node = serializers.CharField()
    node_name = serializers.CharField()
    params = serializers.DictField(
        help_text='boto3\'s parameters; {"ref": key} for a pool the apply creates first.'
    )
    after = serializers.ListField(
        child=serializers.IntegerField(), help_text="The numbers of the calls it waits for."
    )
    settles = serializers.CharField()


class DiffSerializer(serializers.Serializer):
    applicable = serializers.BooleanField()
    counts = serializers.DictField(child=serializers.IntegerField())
    plan_reasons = ReasonSerializer(many=True)
    nodes = NodeDiffSerializer(many=True)
    steps = StepSerializer(many=True)


class ApplyStepSerializer(serializers.ModelSerializer):
    node = serializers.CharField(source="node_key")
    pool_id = serializers.CharField(source="pool_aws_id")
    status = enum(ApplyStep.Status.values)

    class Meta:
        model = ApplyStep
        fields = [
            "order",
            "step_id",
            "action",
            "node",
            "node_name",
            "status",
            "pool_id",
            "aws_state",
            "request_id",
            "error_code",
            "error_message",
            "tries",
            "note",
            "waits_for",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class RunSerializer(serializers.ModelSerializer):
    plan_id = serializers.IntegerField(read_only=True)
    kind = enum(ApplyRun.Kind.values)
    status = enum(ApplyRun.Status.values)
    total = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = ApplyRun
        fields = [
            "id",
            "url",
            "plan_id",
            "kind",
            "version",
            "attempt",
            "status",
            "cascade",
            "message",
            "total",
            "counts",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
        ]
        read_only_fields = fields

    def _counts(self, run: ApplyRun) -> dict[str, int]:
        counts = self.context["counts"].get(run.pk, {})
        return {status: counts.get(status, 0) for status in ApplyStep.Status.values}

    def get_total(self, run: ApplyRun) -> int:
        return sum(self._counts(run).values())

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_counts(self, run: ApplyRun) -> dict[str, int]:
        return self._counts(run)

    def get_url(self, run: ApplyRun) -> str:
        return reverse("api:plan-run-detail", args=[run.plan_id, run.pk])


class RunDetailSerializer(RunSerializer):
    stalled = serializers.SerializerMethodField(
        help_text="Running, but no driver has reported for longer than a lease."
    )
    steps = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "stalled", "steps"]
        read_only_fields = fields

    def get_stalled(self, run: ApplyRun) -> bool:
        return self.context["stalled"]

    @extend_schema_field(ApplyStepSerializer(many=True))
    def get_steps(self, run: ApplyRun) -> list[dict[str, Any]]:
        return ApplyStepSerializer(self.context["steps"], many=True).data


# --- writing ----------------------------------------------------------------------------


class SpaceField(serializers.ListField):
    child = serializers.CharField(max_length=64, trim_whitespace=False)
    max_length = MAX_SPACE_CIDRS + 1  # the form says "at most 50" with its own code

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "CIDRs the top-level nodes are placed in.")
        super().__init__(max_length=MAX_SPACE_CIDRS + 1, **kwargs)


@extend_schema_field(NODE_DOCUMENT)
class NodeDocumentField(serializers.DictField):
    pass


class PlanCreateSerializer(serializers.Serializer):
    """A new plan where the new-plan page places one, optionally with nodes of the plan
    document's format."""

    ipam = text(64, help_text="The IPAM's ID (by default the scope's).")
    scope = serializers.CharField(max_length=64, help_text="The scope's ID.")
    address_family = serializers.ChoiceField(choices=AddressFamily.choices, default="ipv4")
    name = serializers.CharField(max_length=1000, trim_whitespace=False, allow_blank=True)
    space = SpaceField(required=False, default=list)
    parent_pool = text(64, help_text="A live pool the plan grows under (then no space).")
    description = text(5000)
    nodes = serializers.ListField(
        child=NodeDocumentField(),
        required=False,
        default=list,
        max_length=formats.MAX_NODES,
        help_text="Nodes as in the plan document (each names its parent by `id`).",
    )


class PlanSettingsSerializer(serializers.Serializer):
    """The plan's name, description and space (as its settings form): what is left out
    stays as it is."""

    name = serializers.CharField(
        required=False, max_length=1000, trim_whitespace=False, allow_blank=True
    )
    description = text(5000)
    space = SpaceField(required=False)


class NodeWriteSerializer(serializers.Serializer):
    """A node's fields as the plan page's node form takes them; on a change, what is left
    out stays as it is (and tags are replaced only when given)."""

    name = serializers.CharField(
        required=False,
        max_length=constants.MAX_TAG_VALUE_LENGTH * 4,
        trim_whitespace=False,
        allow_blank=True,
    )
    intent = serializers.ChoiceField(choices=Intent.CHOICES, required=False)
    cidr = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=64, help_text="Pinned."
    )
    prefix_length = number()
    need_count = number()
    need_length = number()
    need_hosts = number()
    need_growth = number()
    locale = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=64,
        help_text='null or "": the parent\'s; "None": no locale; else an operating Region.',
    )
    spare_slots = number()
    min_netmask = netmask()
    max_netmask = netmask()
    default_netmask = netmask()
    description = text(5000, allow_null=True)
    tags = TagsField(required=False)
    allocation_resource_tags = TagsField(required=False)


class NodeCreateSerializer(NodeWriteSerializer):
    key = serializers.RegexField(
        KEY_PATTERN,
        required=False,
        help_text="The new node's key (made up when left out). A request repeated with the "
        "same key adds nothing: it answers with the node.",
    )
    parent = serializers.RegexField(
        KEY_PATTERN, required=False, allow_null=True, help_text="The parent's key; null: top."
    )
    name = serializers.CharField(
        max_length=constants.MAX_TAG_VALUE_LENGTH * 4, trim_whitespace=False, allow_blank=True
    )
    intent = serializers.ChoiceField(choices=Intent.CHOICES, default=Intent.LENGTH)


class NodeMoveSerializer(serializers.Serializer):
    parent = serializers.RegexField(
        KEY_PATTERN, allow_null=True, help_text="The new parent's key; null: the top level."
    )


class EmptySerializer(serializers.Serializer):
    """No body."""


@extend_schema_field(DOCUMENT)
class DocumentSerializer(serializers.DictField):
    pass
