"""The AWS requests a planned node stands for, shaped as boto3 takes them.

Whole-plan validation judges these with :mod:`awsipam.rules`, the diff lists them, and the
apply sends them: one shape for all three.
"""

from __future__ import annotations

from typing import Any

from planning.spec import NodeSpec, PlanSpec, Tree

NAME_TAG = "Name"
OWNER_TAG_PREFIX = "ipamui:"  # [choice] tags the app writes for itself, never a plan's own


def is_owner_tag(key: str) -> bool:
    return key.lower().startswith(OWNER_TAG_PREFIX)


def pool_tags(node: NodeSpec) -> list[tuple[str, str]]:
    """The node's tags with its name as the Name tag (as the creation form sends it)."""
    tags = [(k, v) for k, v in node.tags if k != NAME_TAG]
    return [(NAME_TAG, node.name), *tags] if node.name else tags


def create_pool_request(
    node: NodeSpec,
    *,
    plan: PlanSpec,
    tree: Tree,
    scope_id: str,
    source_pool_id: str | None,
    root_locale: str | None = None,
) -> dict[str, Any]:
    """CreateIpamPool for ``node``, with the locale it has or inherits (``root_locale``: the
    live parent pool's, for the plan's top-level nodes)."""
    request: dict[str, Any] = {"IpamScopeId": scope_id, "AddressFamily": plan.address_family}
    locale = tree.locale(node.key, root_locale)
    if locale is not None:
        request["Locale"] = locale
    if source_pool_id:
        request["SourceIpamPoolId"] = source_pool_id
    if node.description:
        request["Description"] = node.description
    for member, value in (
        ("AllocationMinNetmaskLength", node.min_netmask),
        ("AllocationMaxNetmaskLength", node.max_netmask),
        ("AllocationDefaultNetmaskLength", node.default_netmask),
    ):
        if value is not None:
            request[member] = value
    if node.allocation_resource_tags:
        request["AllocationResourceTags"] = [
            {"Key": k, "Value": v} for k, v in node.allocation_resource_tags
        ]
    tags = pool_tags(node)
    if tags:
        request["TagSpecifications"] = [
            {"ResourceType": "ipam-pool", "Tags": [{"Key": k, "Value": v} for k, v in tags]}
        ]
    return request


def provision_request(node: NodeSpec, pool_id: str) -> dict[str, Any]:
    return {"IpamPoolId": pool_id, "Cidr": str(node.cidr)}
