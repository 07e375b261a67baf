"""The planner on a 1,045-node plan of depth 6, in scopes of 100 and of 10,000 live pools.

One child process (``python -m bench.plan_bench``) with its own SQLite database, migrated.
Two IPAMs, each with a private
scope of live pools written straight into the database (``tests.treedata.build_tree``): 100
pools in one, 10,000 in the other. In each scope the same plan is made: one top-level node,
then 4, 4, 4, 3 and 4 children per node over five more levels (1 + 4 + 16 + 64 + 192 + 768 =
1,045 nodes), each level sized by prefix length, placed by the packer in 172.16.0.0/12, clear
of the live pools (which sit in 10.0.0.0/8).

Timed, taking turns between the two scopes so the machine's load weighs on both alike:

- full validation: ``services.plan_validate`` (loads the plan and what it touches in AWS's
  mirror, packs, judges every node, writes the findings and the ledger); target <= 300 ms;
- the judging alone: ``checks.validate`` on the loaded plan (no database);
- one edit: ``services.node_update`` of one leaf's description (load, pack, judge the nodes
  the edit touches, write): target <= 50 ms, and as many SQL queries at 1,045 nodes as at a
  10-node plan;
- packing from scratch: ``packer.pack`` of the plan with every CIDR cleared;
- the plan's page (``GET /plans/<id>/``): server time and bytes;
- export and import of the plan's YAML (``planning.formats``), when the module is there.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any

from bench.harness import Stats, Suite, child_main, django_child, take_turns

FULL_TARGET_MS = 300
EDIT_TARGET_MS = 50
FANOUTS = (4, 4, 4, 3, 4)
LENGTHS = (12, 14, 16, 18, 20, 22)


@dataclass(frozen=True)
class Sizes:
    small: int = 100
    large: int = 10_000
    rounds: int = 15
    warmup: int = 2


QUICK = Sizes(large=1_000, rounds=4, warmup=1)


def run(quick: bool = False) -> Suite:
    sizes = QUICK if quick else Sizes()
    suite = Suite("plan", parameters=asdict(sizes))
    result = django_child("bench.plan_bench", asdict(sizes))
    ms = {name: Stats(**stats) for name, stats in result["timings"].items()}
    nodes = result["nodes"]
    for scope in ("small", "large"):
        pools = getattr(sizes, scope)
        full = ms[f"validate {scope}"].median * 1000
        suite.add(
            f"full validation, {nodes:,} nodes, {pools:,} live pools, median",
            full,
            "ms",
            target=f"<= {FULL_TARGET_MS}",
            met=full <= FULL_TARGET_MS,
        )
        edit = ms[f"edit {scope}"].median * 1000
        suite.add(
            f"one edit judged again, {nodes:,} nodes, {pools:,} live pools, median",
            edit,
            "ms",
            target=f"<= {EDIT_TARGET_MS}",
            met=edit <= EDIT_TARGET_MS,
        )
    suite.add(f"judging alone, {nodes:,} nodes, median", ms["judge"].median * 1000, "ms")
    suite.add(f"packing from scratch, {nodes:,} nodes, median", ms["pack"].median * 1000, "ms")
    queries = result["queries"]
    suite.add(
        f"SQL queries of one edit ({nodes:,} nodes / 10 nodes)",
        queries["edit large"],
        "queries",
        target=f"same as at 10 nodes ({queries['edit tiny']})",
        met=queries["edit large"] == queries["edit tiny"],
    )
    suite.add("SQL queries of a full validation", queries["validate large"], "queries")
    if "page large" in ms:
        suite.add(f"plan page, {nodes:,} nodes, median", ms["page large"].median * 1000, "ms")
        suite.add("plan page size", result["page_bytes"] / 1024, "KiB")
        suite.add("SQL queries of the plan page", queries["page large"], "queries")
    if "export" in ms:
        suite.add(f"YAML export, {nodes:,} nodes, median", ms["export"].median * 1000, "ms")
        suite.add(f"YAML import, {nodes:,} nodes, median", ms["import"].median * 1000, "ms")
        suite.add("YAML size", result["yaml_bytes"] / 1024, "KiB")
    suite.details.update(result)
    return suite


# --- the child process ------------------------------------------------------------------------


def plan_nodes(fanouts=FANOUTS, lengths=LENGTHS) -> list[Any]:
    """A tree of nodes sized by level; the top one in us-east-1, the rest inheriting."""
    from planning.spec import NodeSpec

    top = NodeSpec(key="n-top", name="top", prefix_length=lengths[0], locale="us-east-1")
    nodes, level = [top], [top]
    for depth, fanout in enumerate(fanouts, start=1):
        below = []
        for parent in level:
            for i in range(fanout):
                child = NodeSpec(
                    key=f"{parent.key}-{i}",
                    name=f"{parent.name}-{i}" if depth > 1 else f"region-{i}",
                    parent=parent.key,
                    prefix_length=lengths[depth],
                )
                below.append(child)
        nodes += below
        level = below
    return nodes


def _child(sizes: Sizes) -> dict[str, Any]:
    import django

    # An account that plans 1,000 pools has had its quota raised (the scope holds 10,000).
    os.environ["IPAM_QUOTA_POOLS_PER_SCOPE"] = "20000"
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from netaddr import IPNetwork

    from planning import checks, packer, selectors, services
    from planning.models import Plan
    from tests.treedata import build_tree

    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    trees = {"small": build_tree(sizes.small), "large": build_tree(sizes.large)}
    space = [IPNetwork("172.16.0.0/12")]
    nodes = plan_nodes()
    plans = {}
    for name, tree in trees.items():
        plans[name] = services.plan_create(
            ipam=tree.scope.ipam,
            scope=tree.scope,
            address_family="ipv4",
            name=f"bench {name}",
            space=space,
            nodes=nodes,
        ).plan
    tiny_tree = trees["small"]
    tiny = services.plan_create(
        ipam=tiny_tree.scope.ipam,
        scope=tiny_tree.scope,
        address_family="ipv4",
        name="bench tiny",
        space=[IPNetwork("192.168.0.0/16")],
        nodes=plan_nodes(fanouts=(3, 2, 1), lengths=(16, 18, 20, 22)),
    ).plan
    built = time.perf_counter() - started
    assert plans["large"].error_count == 0, plans["large"].findings[:3]

    leaf = nodes[-1].key
    counter = iter(range(10**9))

    def validate(plan: Plan) -> None:
        services.plan_validate(plan)

    def edit(plan: Plan) -> None:
        services.node_update(plan, leaf, description=f"edit {next(counter)}")

    loaded = Plan.objects.select_related("ipam", "scope", "parent_pool").get(pk=plans["large"].pk)
    spec = selectors.plan_spec(loaded)
    world = selectors.world(loaded, spec)
    cleared = spec.with_nodes(replace(n, cidr=None) for n in spec.nodes)

    calls: dict[str, Any] = {}
    queries: dict[str, int] = {}
    for name, plan in plans.items():
        calls[f"validate {name}"] = partial(validate, plan)
        calls[f"edit {name}"] = partial(edit, plan)
    calls["judge"] = partial(checks.validate, spec, world)
    calls["pack"] = partial(packer.pack, cleared)
    for label, call in (
        ("validate large", calls["validate large"]),
        ("edit large", calls["edit large"]),
        ("edit tiny", lambda: services.node_update(tiny, tiny_leaf(tiny), description="x")),
    ):
        call()
        with CaptureQueriesContext(connection) as captured:
            call()
        queries[label] = len(captured.captured_queries)

    client = Client()
    client.force_login(get_user_model().objects.create_superuser("bench", "", "bench-password"))
    page_url = f"/plans/{plans['large'].pk}/"
    result: dict[str, Any] = {}
    if client.get(page_url).status_code == 200:
        calls["page large"] = partial(client.get, page_url)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(page_url)
        queries["page large"] = len(captured.captured_queries)
        result["page_bytes"] = len(response.content)
    try:
        from planning import formats
    except ImportError:
        formats = None
    if formats is not None and hasattr(formats, "to_yaml"):
        text = formats.to_yaml(spec)
        calls["export"] = partial(formats.to_yaml, spec)
        calls["import"] = partial(formats.from_yaml, text)
        result["yaml_bytes"] = len(text.encode())
    for _ in range(sizes.warmup):
        for call in calls.values():
            call()
    result.update(
        timings=take_turns(calls, sizes.rounds),
        queries=queries,
        nodes=len(nodes),
        build_seconds=round(built, 1),
    )
    return result


def tiny_leaf(plan: Any) -> str:
    from planning.models import PlanNode

    return PlanNode.objects.filter(plan=plan, children=None).order_by("key").first().key


if __name__ == "__main__":
    child_main(_child, Sizes)
