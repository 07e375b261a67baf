"""A run's journal, written before its first call: one row per step of the plan's diff, each
with the ClientToken it will always send, and the pools it creates tagged with their plan
and node, so that AWS itself can say which pools a run has already made.

Also the snapshot of the plan's space that a run starts from: the stale-plan guard compares it
with what AWS has when the run is about to make its first call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from planning import drift
from planning.diff import Step
from planning.models import ApplyRun, ApplyStep, PlanNode
from planning.requests import OWNER_TAG_PREFIX, is_owner_tag
from planning.world import World

PLAN_TAG = f"{OWNER_TAG_PREFIX}plan"  # [choice] the tags an applied pool carries: its plan's id
NODE_TAG = f"{OWNER_TAG_PREFIX}node"  # ... and its node's key
TOKEN_PREFIX = "ipamui-"  # ClientToken: at most 64 ASCII characters [aws]


def client_token(plan_pk: int, node_key: str, step_id: str, version: int, attempt: int) -> str:
    """The step's ClientToken: the same for every try of the step within one run, different
    for another attempt of the plan's version (a run started afresh after a cancel)."""
    seed = f"{plan_pk}|{node_key}|{step_id}|{version}|{attempt}".encode()
    return TOKEN_PREFIX + hashlib.sha256(seed).hexdigest()[:40]


def owner_tags(plan_pk: int, node_key: str) -> list[dict[str, str]]:
    return [{"Key": PLAN_TAG, "Value": str(plan_pk)}, {"Key": NODE_TAG, "Value": node_key}]


def _with_owner_tags(params: dict[str, Any], plan_pk: int, node_key: str) -> dict[str, Any]:
    """CreateIpamPool's parameters with the plan's and the node's tags in place of any the
    node was given under the app's own prefix (a clone copies them from live pools)."""
    specs = params.get("TagSpecifications") or [{"ResourceType": "ipam-pool", "Tags": []}]
    tags = [t for t in specs[0]["Tags"] if not is_owner_tag(t["Key"])]
    specs = [{**specs[0], "Tags": [*tags, *owner_tags(plan_pk, node_key)]}]
    return {**params, "TagSpecifications": specs}


def steps_of(run: ApplyRun, steps: Iterable[Step], names: dict[str, str]) -> list[ApplyStep]:
    """The journal rows for ``steps`` (in the diff's order: parents first), not yet saved."""
    plan_pk = run.plan_id
    rows = []
    for order, step in enumerate(steps):
        params = dict(step.params)
        if step.action == "CreateIpamPool":
            params = _with_owner_tags(params, plan_pk, step.node)
        rows.append(
            ApplyStep(
                run=run,
                order=order,
                step_id=step.id,
                node_key=step.node,
                node_name=names.get(step.node, ""),
                action=step.action,
                params=params,
                waits_for=[w.step for w in step.waits_for],
                settles=step.settles,
                client_token=client_token(plan_pk, step.node, step.id, run.version, run.attempt),
            )
        )
    return rows


def space_snapshot(world: World) -> list[str]:
    """What AWS has in the plan's space, as the mirror holds it, as sorted lines: the pools
    the plan binds or grows under (state, CIDRs, allocations) and the scope's top-level CIDRs
    (for a plan at the top). Two snapshots differ exactly when AWS changed there."""
    lines = {f"top {pool_id} {cidr}" for pool_id, cidr in world.top_level}
    for pool_id, pool in world.pools.items():
        facts = pool.facts
        lines.add(f"pool {pool_id} {facts.state}")
        lines.update(f"cidr {pool_id} {c.cidr} {c.state}" for c in facts.cidrs)
        lines.update(
            f"allocation {pool_id} {a.cidr} {a.resource_id or 'custom'}" for a in facts.allocations
        )
    return sorted(lines)


def snapshot_changes(before: list[str], after: list[str]) -> list[str]:
    """What changed between two snapshots, for people: "+ ..." appeared, "- ..." went."""
    old, new = set(before), set(after)
    return [f"- {line}" for line in sorted(old - new)] + [f"+ {line}" for line in sorted(new - old)]


def record_applied(plan_pk: int, key: str, run_pk: int) -> None:
    """Every step of node ``key`` is done: what the plan asked of its pool is what AWS has
    (the last applied state, the middle of drift's three-way comparison)."""
    node = PlanNode.objects.filter(plan=plan_pk, key=key).first()
    if node is None:
        return
    create = ApplyStep.objects.filter(run=run_pk, node_key=key, action="CreateIpamPool").first()
    before = node.applied or {}
    applied = {name: getattr(node, name) for name in drift.FIELDS}
    applied["cidr"] = str(node.cidr) if node.cidr else ""
    # The CIDRs the pool has by the plan: the node's, and those adopted from AWS before.
    applied["cidrs"] = sorted({*before.get("cidrs", ()), applied["cidr"]} - {""})
    if create is not None:
        applied["locale"] = create.params.get("Locale", "")
    else:
        applied["locale"] = before.get("locale", "")
    applied |= {"pool_id": node.pool_aws_id, "run": run_pk, "at": timezone.now().isoformat()}
    PlanNode.objects.filter(pk=node.pk).update(applied=applied)
