"""Pools as the API shows them, and the body of a pool creation.

A pool's CIDRs, use and child count come from :func:`pools.tree.annotate` for a whole page at
once (the serializer's ``space`` context, by the pool's primary key): a page costs the same few
queries whatever its length.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from awsipam import constants
from pools.models import AddressFamily, AwsService, IpamPool, PublicIpSource
from pools.tree import Node

TAGS_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "string", "maxLength": constants.MAX_TAG_VALUE_LENGTH},
    "maxProperties": constants.MAX_TAGS,
}


class UseSerializer(serializers.Serializer):
    provisioned = serializers.IntegerField(help_text="Addresses in the pool's provisioned CIDRs.")
    used = serializers.IntegerField(help_text="Addresses allocated (child pools' CIDRs included).")
    percent = serializers.FloatField(allow_null=True)


@extend_schema_field(TAGS_SCHEMA)
class TagsField(serializers.DictField):
    """Tags as an object of key to value; AWS's limits (50 tags, key and value lengths) are
    judged by the rules, next to the tag, as the forms judge them."""

    child = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=1000)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if isinstance(data, dict) and len(data) > constants.MAX_TAGS + 10:
            raise serializers.ValidationError(
                f"At most {constants.MAX_TAGS} tags.", code="too_many_tags"
            )
        tags = super().to_internal_value(data)
        for key in tags:
            if len(key) > 1000 or "\x00" in key:
                raise serializers.ValidationError("A tag key is too long or has a NUL.")
        return tags


class PoolSerializer(serializers.ModelSerializer):
    scope_id = serializers.CharField(source="scope.scope_id", read_only=True)
    ipam_id = serializers.CharField(source="ipam.ipam_id", read_only=True)
    source_pool_id = serializers.CharField(source="source_pool_aws_id", read_only=True)
    cidrs = serializers.SerializerMethodField(help_text="CIDRs that hold space (provisioned).")
    use = serializers.SerializerMethodField()
    child_count = serializers.SerializerMethodField()
    tags = TagsField(read_only=True)
    allocation_resource_tags = TagsField(read_only=True)
    in_aws = serializers.BooleanField(read_only=True, help_text="False once AWS no longer has it.")
    # Read-only model fields lose allow_blank, so the schema's enum would lack "".
    aws_service = serializers.ChoiceField(AwsService.choices, allow_blank=True, read_only=True)
    public_ip_source = serializers.ChoiceField(
        PublicIpSource.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = IpamPool
        fields = [
            "pool_id",
            "arn",
            "name",
            "description",
            "ipam_id",
            "scope_id",
            "scope_type",
            "source_pool_id",
            "depth",
            "address_family",
            "locale",
            "state",
            "state_message",
            "cidrs",
            "use",
            "child_count",
            "allocation_min_netmask_length",
            "allocation_max_netmask_length",
            "allocation_default_netmask_length",
            "auto_import",
            "publicly_advertisable",
            "aws_service",
            "public_ip_source",
            "source_resource",
            "tags",
            "allocation_resource_tags",
            "owner_id",
            "region",
            "in_aws",
            "first_seen_at",
            "last_synced_at",
        ]
        read_only_fields = fields

    def _node(self, pool: IpamPool) -> Node:
        return self.context["space"][pool.pk]

    def get_cidrs(self, pool: IpamPool) -> list[str]:
        return [str(c) for c in self._node(pool).cidrs]

    @extend_schema_field(UseSerializer)
    def get_use(self, pool: IpamPool) -> dict[str, Any]:
        node = self._node(pool)
        return {"provisioned": node.provisioned, "used": node.used, "percent": node.used_percent}

    def get_child_count(self, pool: IpamPool) -> int:
        return self._node(pool).child_count


def netmask() -> serializers.IntegerField:
    return serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=128)


def text(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, max_length=max_length, trim_whitespace=False, **kwargs
    )


class PoolCreateSerializer(serializers.Serializer):
    """CreateIpamPool, with the CIDR to provision first: the fields of the pool form.

    Types and lengths are checked here; every AWS rule is judged by the pool form itself
    (:class:`pools.forms.PoolForm`), with the codes it gives on the page.
    """

    scope = serializers.CharField(max_length=64, help_text="The scope's ID.")
    address_family = serializers.ChoiceField(choices=AddressFamily.choices, default="ipv4")
    source_pool = text(64, help_text="The source pool's ID; empty for a top-level pool.")
    locale = text(64, help_text="A Region the IPAM operates in; empty for none.")
    description = text(1000)
    auto_import = serializers.BooleanField(default=False)
    allocation_min_netmask_length = netmask()
    allocation_max_netmask_length = netmask()
    allocation_default_netmask_length = netmask()
    public_ip_source = serializers.ChoiceField(
        choices=PublicIpSource.choices, required=False, allow_blank=True
    )
    aws_service = serializers.ChoiceField(
        choices=AwsService.choices, required=False, allow_blank=True
    )
    publicly_advertisable = serializers.BooleanField(required=False, allow_null=True, default=None)
    source_resource_id = text(128, help_text="An existing VPC's ID (SourceResource).")
    source_resource_region = text(32)
    source_resource_owner = text(32)
    first_cidr = text(64, help_text="A CIDR to provision as soon as the pool is created.")
    first_netmask_length = netmask()
    tags = TagsField(required=False, default=dict)
    allocation_resource_tags = TagsField(required=False, default=dict)
