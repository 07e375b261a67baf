"""The diff over the world the selectors read: a plan bound to the demo's pools as they are is
unchanged, a new node under them is created from the live pool, and the live pools the plan
does not know are left alone."""

from __future__ import annotations

import json

from planning import diff, selectors
from planning.spec import Intent, NodeSpec
from pools.models import IpamPool


def bound(key: str, name: str, parent: str | None = None, **changes) -> NodeSpec:
    """A node bound to the demo's pool ``name``, as the pool is in AWS."""
    pool = IpamPool.objects.get(name=name)
    values = {
        "key": key,
        "name": pool.name,
        "parent": parent,
        "intent": Intent.CIDR,
        "cidr": pool.cidrs.get().cidr,
        "pool_id": pool.pool_id,
        "locale": pool.locale or "None",
        "min_netmask": pool.allocation_min_netmask_length,
        "max_netmask": pool.allocation_max_netmask_length,
        "default_netmask": pool.allocation_default_netmask_length,
        "description": pool.description,
        "tags": tuple(sorted((k, v) for k, v in pool.tags.items() if k != "Name")),
        "allocation_resource_tags": tuple(sorted(pool.allocation_resource_tags.items())),
    }
    return NodeSpec(**{**values, **changes})


def diff_of(plan):
    spec = selectors.plan_spec(plan)
    return diff.diff(spec, selectors.world(plan, spec), plan.findings)


def test_a_plan_of_the_live_pools_with_a_new_one(make_plan):
    nodes = [
        bound("top", "corporate"),
        bound("east", "us-east-1", "top"),
        bound("prod", "us-east-1-prod", "east"),
        NodeSpec(key="vpc", name="vpc-new", parent="prod", prefix_length=24),
    ]
    plan = make_plan("grow", space="", nodes=nodes)

    result = diff_of(plan)

    assert {n.key: n.kind for n in result.nodes} == {
        "top": "unchanged",
        "east": "unchanged",
        "prod": "unchanged",
        "vpc": "create",
    }
    create, provision = result.steps
    assert create.params["SourceIpamPoolId"] == IpamPool.objects.get(name="us-east-1-prod").pool_id
    assert create.params["Locale"] == "us-east-1"
    assert provision.params == {"IpamPoolId": {"ref": "vpc"}, "Cidr": "10.0.2.0/24"}
    left_alone = {o.pool_id for o in result.outside}
    assert left_alone == set(
        IpamPool.objects.filter(name__in=["us-east-1-dev", "us-west-2", "eu-west-1"]).values_list(
            "pool_id", flat=True
        )
    )
    assert result.applicable
    json.dumps(result.as_dict())


def test_a_changed_description_and_a_locale_change(make_plan):
    plan = make_plan(
        "edit",
        space="",
        nodes=[
            bound("top", "corporate", description="All private space"),
            bound("east", "us-east-1", "top", locale="us-west-2"),
        ],
    )

    result = diff_of(plan)

    top = result.node("top")
    assert top.kind == "change"
    assert [(s.action, s.params["Description"]) for s in top.steps] == [
        ("ModifyIpamPool", "All private space")
    ]
    assert "locale_cannot_change" in [r.code for r in result.node("east").reasons]
    assert not result.applicable


def test_a_node_with_an_error_finding_is_blocked(make_plan):
    plan = make_plan(
        "odd", space="10.0.0.0/8", nodes=[NodeSpec(key="x", name="x", prefix_length=40)]
    )
    assert plan.error_count

    result = diff_of(plan)

    assert result.node("x").kind == "blocked"
    assert result.steps == ()
