"""CreateTags, DeleteTags: of IPAM pools, the only resources the endpoint holds that take tags."""

from __future__ import annotations

from typing import Any

from awsipam import rules
from ipamsim.context import Context, operation


def _pools(ctx: Context, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The pools ``Resources`` names (an id that names no pool is refused first, by the rules;
    a pool id the endpoint does not have: ``InvalidIpamPoolId.NotFound``). [choice] A pool
    still listed after its deletion can be tagged, as it can be described."""
    ctx.refuse(rules.check_tag_resources(params))
    return [ctx.find("pool", resource_id) for resource_id in params["Resources"]]


def _write_tags(ctx: Context, pool: dict[str, Any], tags: dict[str, str]) -> None:
    pool["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
    ctx.store.touch("pool", pool["IpamPoolId"])


@operation("CreateTags")
def create_tags(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """[aws] Adds the tags or overwrites the values of keys the resource has already."""
    pools = _pools(ctx, params)
    current = {p["IpamPoolId"]: dict(rules.tag_pairs(p.get("Tags"))) for p in pools}
    ctx.refuse(rules.check_create_tags(params, current=current))
    added = dict(rules.tag_pairs(params["Tags"]))
    for pool in pools:
        _write_tags(ctx, pool, {**current[pool["IpamPoolId"]], **added})
    return {}


@operation("DeleteTags")
def delete_tags(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools = _pools(ctx, params)
    ctx.refuse(rules.check_delete_tags(params))
    for pool in pools:
        tags = dict(rules.tag_pairs(pool.get("Tags")))
        _write_tags(ctx, pool, rules.tags_after_delete(tags, params))
    return {}
