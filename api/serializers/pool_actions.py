"""The bodies of the changes to a pool (its space, its settings, its tags) and what they answer.

Types and lengths are checked here; every AWS rule is judged by the page's own form
(:mod:`pools.forms`, :mod:`pools.space_forms`, :mod:`pools.edit_forms`), with its codes.
"""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.pools import TagsField, netmask, text
from awsipam import constants

MAX_CIDRS_IN_LIST = 100  # allowed or disallowed CIDRs of one allocation (an input bound)


class ProvisionSerializer(serializers.Serializer):
    """ProvisionIpamPoolCidr: a CIDR, or (in a pool with a source pool) a netmask length."""

    cidr = text(64, help_text="The CIDR to provision.")
    netmask_length = netmask()


def cidr_list(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=64, trim_whitespace=False),
        required=False,
        max_length=MAX_CIDRS_IN_LIST,
        help_text=help_text,
    )


class AllocateSerializer(serializers.Serializer):
    """AllocateIpamPoolCidr: a CIDR, or a netmask length (with the blocks it may and may not
    come from), or neither when the pool has a default netmask length."""

    cidr = text(64, help_text="The CIDR to allocate.")
    netmask_length = netmask()
    allowed_cidrs = cidr_list("Only from these (with a netmask length).")
    disallowed_cidrs = cidr_list("Never from these (with a netmask length).")
    description = text(1000)


class PreviewSerializer(serializers.Serializer):
    cidr = serializers.CharField(
        allow_null=True, help_text="The block AWS would allocate now; null if none is free."
    )


class ReleaseSerializer(serializers.Serializer):
    allocation_id = serializers.CharField(
        max_length=64, trim_whitespace=False, help_text="One of the pool's custom allocations."
    )


class DeprovisionSerializer(serializers.Serializer):
    cidr = serializers.CharField(
        max_length=64, trim_whitespace=False, help_text="One of the pool's CIDRs."
    )


class PoolEditSerializer(serializers.Serializer):
    """ModifyIpamPool: only the fields given change. A netmask length of null is the form's
    empty field: minimum 0, maximum the family's longest, no default."""

    description = text(1000)
    auto_import = serializers.BooleanField(required=False)
    allocation_min_netmask_length = netmask()
    allocation_max_netmask_length = netmask()
    allocation_default_netmask_length = netmask()
    clear_default_netmask_length = serializers.BooleanField(required=False)
    allocation_resource_tags = TagsField(
        required=False, help_text="Exactly these allocation resource tags."
    )


class PoolTagsSerializer(serializers.Serializer):
    tags = TagsField(help_text=f"Exactly these tags (at most {constants.MAX_TAGS}).")


class DeleteQuerySerializer(serializers.Serializer):
    cascade = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Delete the child pools, CIDRs and allocations too.",
    )


class SyncSerializer(serializers.Serializer):
    task_id = serializers.CharField()
    status = serializers.CharField(help_text="READY, RUNNING, SUCCESSFUL or FAILED.")
    errors = serializers.ListField(
        child=serializers.CharField(), help_text="The exceptions a failed run raised."
    )
    finished_at = serializers.DateTimeField(allow_null=True)
    status_url = serializers.CharField(help_text="Poll this until the status is final.")
