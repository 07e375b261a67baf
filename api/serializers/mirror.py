"""The mirror as the API shows it: IPAMs, scopes, a pool's CIDRs and allocations, and the
change log. Read only: each is what AWS answered at the last read (``last_synced_at``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.pools import TagsField
from awsipam.choices import LIVE_CIDR_STATES
from pools import changelog
from pools.models import AwsCall, Ipam, IpamPoolCidr, IpamScope, Origin

# An IPAM's and a scope's state are AWS's states of a pool (``create-complete``...), given as
# text: as enums, the schema's "state" would name three choice sets ambiguously.
STATE_HELP = "AWS's state, as a pool's: `create-complete`, `modify-in-progress`..."


class IpamSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True, help_text=STATE_HELP)
    tags = TagsField(read_only=True)
    operating_regions = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="The Regions it manages."
    )
    in_aws = serializers.BooleanField(read_only=True, help_text="False once AWS no longer has it.")

    class Meta:
        model = Ipam
        fields = [
            "ipam_id",
            "arn",
            "owner_id",
            "region",
            "operating_regions",
            "tier",
            "description",
            "state",
            "state_message",
            "scope_count",
            "tags",
            "in_aws",
            "first_seen_at",
            "last_synced_at",
        ]
        read_only_fields = fields


class ScopeSerializer(serializers.ModelSerializer):
    ipam_id = serializers.CharField(source="ipam.ipam_id", read_only=True)
    type = serializers.CharField(source="scope_type", read_only=True, help_text="private or public")
    default = serializers.BooleanField(source="is_default", read_only=True)
    state = serializers.CharField(read_only=True, help_text=STATE_HELP)
    pool_count = serializers.IntegerField(
        source="mirrored_pools",
        read_only=True,
        help_text="Its pools AWS has that are not being deleted, counted in the mirror.",
    )
    tags = TagsField(read_only=True)
    in_aws = serializers.BooleanField(read_only=True, help_text="False once AWS no longer has it.")

    class Meta:
        model = IpamScope
        fields = [
            "scope_id",
            "arn",
            "ipam_id",
            "owner_id",
            "region",
            "type",
            "default",
            "description",
            "state",
            "pool_count",
            "tags",
            "in_aws",
            "first_seen_at",
            "last_synced_at",
        ]
        read_only_fields = fields


class CidrSerializer(serializers.ModelSerializer):
    pool_id = serializers.CharField(source="pool.pool_id", read_only=True)
    in_aws = serializers.BooleanField(read_only=True, help_text="False once AWS has no record.")
    cidr = serializers.CharField(
        allow_null=True, read_only=True, help_text="Null while AWS has given no CIDR."
    )
    deprovisionable = serializers.SerializerMethodField(
        help_text="Whether the pool page offers to deprovision it (it is live and has a CIDR)."
    )

    class Meta:
        model = IpamPoolCidr
        fields = [
            "cidr_id",
            "pool_id",
            "cidr",
            "netmask_length",
            "state",
            "failure_code",
            "failure_message",
            "deprovisionable",
            "in_aws",
            "first_seen_at",
            "last_synced_at",
        ]
        read_only_fields = fields

    def get_deprovisionable(self, cidr: IpamPoolCidr) -> bool:
        return cidr.cidr is not None and cidr.state in LIVE_CIDR_STATES


class AllocationSerializer(serializers.Serializer):
    """One allocation, as its row on the pool page (:class:`pools.selectors.AllocationRow`)."""

    allocation_id = serializers.CharField()
    cidr = serializers.CharField()
    resource_type = serializers.CharField(help_text="`ipam-pool` for a child pool's CIDR.")
    resource_id = serializers.CharField()
    resource_owner = serializers.CharField(source="owner")
    resource_region = serializers.CharField(source="region")
    description = serializers.CharField()
    releasable = serializers.BooleanField(
        help_text="Only custom allocations can be released; a child pool's goes with its CIDR."
    )
    in_aws = serializers.BooleanField(help_text="False once released.")


KIND_OF_MODEL = {"ipampool": "pool", "ipampoolcidr": "cidr", "ipampoolallocation": "allocation"}


class DetailSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field's label (an AWS call's parameter).")
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class ChangeEntrySerializer(serializers.Serializer):
    """One entry of the change log (:class:`pools.changelog.Entry`): a call the app made to
    AWS, or a change to a mirrored pool, CIDR or allocation."""

    kind = serializers.SerializerMethodField(help_text="`call`, `pool`, `cidr` or `allocation`.")
    id = serializers.IntegerField(source="item.pk")
    at = serializers.DateTimeField()
    who = serializers.CharField(help_text="The user, or where the change came from.")
    user = serializers.SerializerMethodField()
    origin = serializers.ChoiceField(source="item.origin", choices=Origin.choices)
    what = serializers.CharField(help_text="The AWS action, or `pool created` and the like.")
    ipam_id = serializers.SerializerMethodField()
    pool_id = serializers.CharField(source="item.pool_aws_id")
    object = serializers.SerializerMethodField(
        help_text="The changed row's text (an AWS call: its action)."
    )
    object_id = serializers.SerializerMethodField(
        help_text="The changed row's AWS id (an AWS call: the pool's)."
    )
    outcome = serializers.SerializerMethodField(help_text="An AWS call's; null for a change.")
    error_code = serializers.SerializerMethodField()
    error_message = serializers.SerializerMethodField()
    request_id = serializers.SerializerMethodField()
    details = serializers.SerializerMethodField()

    def get_kind(self, entry: changelog.Entry) -> str:
        if entry.is_call:
            return "call"
        return KIND_OF_MODEL.get(entry.item.content_type.model, "row")

    def get_user(self, entry: changelog.Entry) -> str | None:
        user = entry.item.user if entry.is_call else entry.item.actor
        return user.get_username() if user is not None else None

    def get_ipam_id(self, entry: changelog.Entry) -> str | None:
        return self.context["ipam_ids"].get(entry.item.ipam_id)

    def get_object(self, entry: changelog.Entry) -> str:
        return entry.item.action if entry.is_call else entry.item.object_repr

    def get_object_id(self, entry: changelog.Entry) -> str:
        if entry.is_call:
            return entry.item.pool_aws_id
        data = entry.item.additional_data or {}
        return next((str(v) for v in data.values()), "")

    def _call(self, entry: changelog.Entry, name: str) -> str | None:
        return getattr(entry.item, name) if isinstance(entry.item, AwsCall) else None

    @extend_schema_field(serializers.ChoiceField(choices=AwsCall.Outcome.choices, allow_null=True))
    def get_outcome(self, entry: changelog.Entry) -> str | None:
        return self._call(entry, "outcome")

    def get_error_code(self, entry: changelog.Entry) -> str | None:
        return self._call(entry, "error_code")

    def get_error_message(self, entry: changelog.Entry) -> str | None:
        return self._call(entry, "error_message")

    def get_request_id(self, entry: changelog.Entry) -> str | None:
        return self._call(entry, "request_id")

    @extend_schema_field(DetailSerializer(many=True))
    def get_details(self, entry: changelog.Entry) -> list[dict[str, Any]]:
        return [
            {"field": label, "before": before if not entry.is_call else None, "after": after}
            for label, before, after in entry.details
        ]
