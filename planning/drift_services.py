"""Drift of a plan: computed and kept (:func:`refresh`), and what can be done about an item:
adopt AWS's value into the plan, apply the plan again, or ignore it with a note.

:func:`refresh` runs at the end of every apply (:func:`planning.applied.finish`) and after
every sync (:func:`on_synced`, connected to :data:`pools.sync.synced`): a fixed number of
queries per plan.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from awsipam.constants import NETMASK_LIMITS, NO_LOCALE
from planning import services
from planning.diff import diff
from planning.drift import (
    ADOPT,
    CHANGED,
    IGNORE,
    IGNORED_TAG_PREFIXES,
    MISSING,
    REAPPLY,
    UNMANAGED,
    DriftItem,
    drift,
)
from planning.models import DriftDecision, Plan, PlanNode
from planning.requests import NAME_TAG
from planning.selectors import load, world
from planning.services import PlanError
from planning.spec import Intent, NodeSpec, new_key
from pools import selectors as pool_selectors
from pools.models import IpamPool

log = logging.getLogger(__name__)

MAX_NOTE = 500
MAX_KEY = 200


def _fresh(plan: Plan | int) -> Plan:
    pk = plan if isinstance(plan, int) else plan.pk
    return Plan.objects.select_related("ipam", "scope", "parent_pool").get(pk=pk)


def compute(plan: Plan) -> list[DriftItem]:
    """The plan's drift items now (nothing stored)."""
    spec, _ids = load(plan)
    if not any(n.bound for n in spec.nodes):
        return []
    live = world(plan, spec)
    applied = {
        key: record
        for key, record in PlanNode.objects.filter(plan=plan).values_list("key", "applied")
        if record
    }
    return drift(spec, live, diff(spec, live, plan.findings), applied)


def refresh(plan: Plan | int) -> list[dict[str, Any]]:
    """Compute the plan's drift and keep it on the plan: ignored items stay listed, marked
    ignored (with their note); a decision whose drift has gone is dropped, so the same
    drift coming back later is shown again."""
    plan = _fresh(plan)
    items = compute(plan)
    keys = {item.key for item in items}
    decisions = {d.key: d for d in DriftDecision.objects.filter(plan=plan).select_related("user")}
    gone = [d.pk for key, d in decisions.items() if key not in keys]
    if gone:
        DriftDecision.objects.filter(pk__in=gone).delete()
    rows = []
    for item in items:
        decision = decisions.get(item.key)
        row = item.as_dict() | {"actions": list(item.actions), "ignored": decision is not None}
        if decision is not None:
            row |= {
                "note": decision.note,
                "ignored_by": decision.user.get_username() if decision.user else "",
            }
        rows.append(row)
    Plan.objects.filter(pk=plan.pk).update(drift=rows, drift_checked_at=timezone.now())
    return rows


def refresh_quietly(plan: Plan | int) -> None:
    """:func:`refresh`, logging instead of raising: drift never fails an apply or a sync."""
    try:
        refresh(plan)
    except Exception:  # whatever it is, the caller's work is done already
        log.exception("Could not compute the drift of plan %s", getattr(plan, "pk", plan))


def plans_to_watch(region: str | None = None, ipam_ids: Iterable[str] | None = None):
    """Plans whose drift a sync may change: applied, or drafts, with a bound node."""
    plans = Plan.objects.filter(
        status__in=(Plan.Status.APPLIED, Plan.Status.DRAFT), nodes__pool_aws_id__gt=""
    )
    if region:
        plans = plans.filter(ipam__region=region)
    if ipam_ids is not None:
        plans = plans.filter(ipam__ipam_id__in=list(ipam_ids))
    return plans.distinct().order_by("pk")


def on_synced(sender: Any = None, *, region: str | None = None, **kwargs: Any) -> None:
    """Receiver of :data:`pools.sync.synced`: the drift of the plans of the synced Region."""
    for pk in plans_to_watch(region, kwargs.get("ipam_ids")).values_list("pk", flat=True):
        refresh_quietly(pk)


# --- the actions ------------------------------------------------------------------------


def item_of(plan: Plan, key: str) -> DriftItem:
    """The plan's kept item ``key`` (a :class:`PlanError` if there is none)."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY:
        raise PlanError("No such drift item.", field="item", code="drift_unknown")
    for row in plan.drift or ():
        if row.get("key") == key:
            return DriftItem.from_dict(row)
    raise PlanError(
        "That drift item is gone (AWS or the plan changed): look again.",
        field="item",
        code="drift_unknown",
    )


def _actionable(plan: Plan, key: str, action: str) -> DriftItem:
    if plan.status == Plan.Status.APPLYING:
        raise PlanError("The plan is being applied: wait for the run to end.", code="run_active")
    if plan.status == Plan.Status.ARCHIVED:
        raise PlanError("An archived plan keeps no drift.", code="plan_archived")
    item = item_of(plan, key)
    if action not in item.actions:
        raise PlanError(f"A {item.kind} item cannot be answered so.", code="drift_action")
    return item


def _live_pool(pool_id: str) -> IpamPool:
    pool = (
        pool_selectors.with_space(IpamPool.objects.live().filter(pool_id=pool_id))
        .select_related("scope")
        .first()
    )
    if pool is None or pool.is_deleting:
        raise PlanError(f"{pool_id} is not in AWS any more: look again.", code="pool_missing")
    return pool


def _tags(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted(
            (str(k), str(v))
            for k, v in pairs
            if k != NAME_TAG and not str(k).lower().startswith(IGNORED_TAG_PREFIXES)
        )
    )


def _pool_values(pool: IpamPool, family: str) -> dict[str, Any]:
    """A live pool's fields as a node's (an unset minimum or maximum as the plan leaves it)."""
    low = pool.allocation_min_netmask_length
    high = pool.allocation_max_netmask_length
    return {
        "name": pool.name,
        "description": pool.description,
        "min_netmask": low or None,
        "max_netmask": None if high in (None, NETMASK_LIMITS[family]) else high,
        "default_netmask": pool.allocation_default_netmask_length,
        "tags": _tags((pool.tags or {}).items()),
        "allocation_resource_tags": tuple(
            sorted((str(k), str(v)) for k, v in (pool.allocation_resource_tags or {}).items())
        ),
    }


def _cidrs(pool: IpamPool) -> list:
    facts = pool_selectors.pool_facts(pool)
    return sorted(
        {c.cidr for c in facts.live_cidrs if c.cidr is not None}, key=lambda c: c.sort_key()
    )


def _record(values: dict[str, Any], cidrs: list, pool_id: str) -> dict[str, Any]:
    """A node's last applied state as :func:`planning.journal.record_applied` writes it."""
    return {
        **{k: values[k] for k in values if k not in ("tags", "allocation_resource_tags")},
        "tags": dict(values.get("tags", ())),
        "allocation_resource_tags": dict(values.get("allocation_resource_tags", ())),
        "cidr": str(cidrs[0]) if cidrs else "",
        "cidrs": [str(c) for c in cidrs],
        "pool_id": pool_id,
        "adopted": True,
        "at": timezone.now().isoformat(),
    }


@transaction.atomic
def adopt(plan: Plan, key: str, *, user: Any = None) -> str:
    """Take AWS's side of item ``key`` into the plan; returns what was done, for people.

    A changed field becomes the node's value (and its last applied state, since AWS has it);
    an unmanaged pool becomes a node bound to it; a missing pool's node is unbound, so the
    next apply creates it again."""
    plan = _fresh(plan)
    item = _actionable(plan, key, ADOPT)
    if item.kind == CHANGED:
        notice = _adopt_field(plan, item)
    elif item.kind == MISSING:
        services.node_update(plan, item.node, pool_id="")
        PlanNode.objects.filter(plan=plan, key=item.node).update(applied={})
        Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.DRAFT)
        notice = f"{item.name} is unbound: the next apply creates its pool again."
    elif item.kind == UNMANAGED:
        notice = _adopt_pool(plan, item)
    else:  # pragma: no cover - _actionable refused it
        raise PlanError("Nothing to adopt.", code="drift_action")
    refresh(plan)
    return notice


def _adopt_field(plan: Plan, item: DriftItem) -> str:
    spec, _ids = load(plan)
    node = next((n for n in spec.nodes if n.key == item.node), None)
    if node is None or not node.bound:
        raise PlanError("That node is not bound any more: look again.", code="drift_unknown")
    pool = _live_pool(node.pool_id)
    values = _pool_values(pool, plan.address_family)
    cidrs = _cidrs(pool)
    changes: dict[str, Any]
    if item.field == "cidr":
        if not cidrs:
            raise PlanError(f"{pool.pool_id} has no CIDR to adopt.", code="drift_action")
        cidr = node.cidr if node.cidr in cidrs else cidrs[0]
        changes = {"cidr": cidr, "intent": Intent.CIDR} if cidr != node.cidr else {}
    elif item.field in values:
        changes = {item.field: values[item.field]}
    else:
        raise PlanError("That field is not adopted.", code="drift_action")
    if changes:
        services.node_update(plan, node.key, **changes)
    row = PlanNode.objects.get(plan=plan, key=node.key)
    record = dict(row.applied or {})
    if item.field == "cidr":
        record |= {"cidr": str(changes.get("cidr", node.cidr)), "cidrs": [str(c) for c in cidrs]}
    elif item.field in ("tags", "allocation_resource_tags"):
        record[item.field] = dict(values[item.field])
    else:
        record[item.field] = values[item.field]
    PlanNode.objects.filter(pk=row.pk).update(applied=record)
    return f"{node.name}'s {item.field.replace('_', ' ')} is now AWS's: {item.aws}."


def _adopt_pool(plan: Plan, item: DriftItem) -> str:
    pool = _live_pool(item.pool_id)
    spec, _ids = load(plan)
    if any(n.pool_id == pool.pool_id for n in spec.nodes):
        raise PlanError(f"{pool.pool_id} is in the plan already.", code="drift_unknown")
    cidrs = _cidrs(pool)
    values = _pool_values(pool, plan.address_family)
    node = NodeSpec(
        key=new_key(),
        name=values["name"] or pool.pool_id,
        parent=item.node or None,
        intent=Intent.CIDR if cidrs else Intent.LENGTH,
        prefix_length=None if cidrs else NETMASK_LIMITS[plan.address_family],
        cidr=cidrs[0] if cidrs else None,
        locale=pool.locale or NO_LOCALE,
        min_netmask=values["min_netmask"],
        max_netmask=values["max_netmask"],
        default_netmask=values["default_netmask"],
        description=values["description"],
        tags=values["tags"],
        allocation_resource_tags=values["allocation_resource_tags"],
        pool_id=pool.pool_id,
    )
    services.node_add(plan, node)
    record = _record({**values, "name": node.name}, cidrs, pool.pool_id)
    record["locale"] = pool.locale
    PlanNode.objects.filter(plan=plan, key=node.key).update(applied=record)
    return f"{pool.pool_id} is in the plan now, as {node.name}."


def check_reapply(plan: Plan) -> Plan:
    """The plan, fresh, if applying it again would mend some of its drift (the run itself
    is :func:`planning.runs.reapply`'s)."""
    plan = _fresh(plan)
    rows = (row for row in plan.drift or () if not row.get("ignored"))
    if not any(REAPPLY in row.get("actions", ()) for row in rows):
        raise PlanError("No drift that applying again would mend.", code="drift_action")
    return plan


def clean_note(note: Any) -> str:
    """An ignore's note: required, at most :data:`MAX_NOTE` characters."""
    text = " ".join(str(note or "").split())
    if not text:
        raise PlanError("Say why this drift is left as it is.", field="note", code="note_required")
    if len(text) > MAX_NOTE:
        raise PlanError(
            f"The note is at most {MAX_NOTE} characters.", field="note", code="note_too_long"
        )
    return text


@transaction.atomic
def ignore(plan: Plan, key: str, note: Any, *, user: Any = None) -> DriftDecision:
    """Leave item ``key`` as it is, saying why: listed still, no longer counted."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    text = clean_note(note)
    item = _actionable(plan, key, IGNORE)
    decision, _created = DriftDecision.objects.update_or_create(
        plan=plan,
        key=item.key,
        defaults={
            "decision": DriftDecision.Decision.IGNORE,
            "note": text,
            "user": user if getattr(user, "is_authenticated", False) else None,
        },
    )
    name = user.get_username() if getattr(user, "is_authenticated", False) else ""
    rows = [
        row | {"ignored": True, "note": text, "ignored_by": name}
        if row.get("key") == item.key
        else row
        for row in plan.drift
    ]
    Plan.objects.filter(pk=plan.pk).update(drift=rows)
    return decision
