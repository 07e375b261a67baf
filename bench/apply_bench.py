"""Applying a plan: wall-clock time against the plan's critical path, with 1 and 2 workers;
AWS calls per pool; no duplicate pool.

Everything runs as in production, in separate processes: the local endpoint as its HTTP
server (``python -m ipamsim`` with ``Sizes.delay`` seconds of create and provision delay, the
demo IPAM seeded), the app's database (a SQLite file, migrated and synced from the endpoint by
``manage.py migrate`` and ``ipam_sync``), and N task workers (``manage.py db_worker``).

The bench process (``python -m bench.apply_bench --child``, so that ``python -m bench`` itself
never sets up Django) has Django set up against the same database and environment. For each
N it creates a fresh plan (``Sizes.pools`` nodes, ``Sizes.depth`` levels, one root, in its own
/13 of 172.16.0.0/12, top-level nodes in us-east-1), checks it has no error, resets the
endpoint's call counter, starts N workers, calls ``planning.runs.start`` and reads the run's
status every ``POLL`` seconds until it is neither queued nor running. How each number is taken:

- apply: seconds from ``start()`` to the poll that sees the run ended (so up to ``POLL`` late);
  its ratio to the critical path, depth x (create delay + provision delay): every level waits
  for its parent's pool created and CIDR provisioned.
- queue latency: from ``start()`` to the first step claimed (its ``started_at``).
- duplicates: live pools per ``ipamui:node`` tag, read from the endpoint with boto3; every node
  must have exactly one.
- AWS calls per pool: the endpoint's requests per action during the run, divided by the pools.
  A pool takes two steps (CreateIpamPool, ProvisionIpamPoolCidr), so 2 changes per pool; the
  reads are the waits (DescribeIpamPools of up to 100 waiting pools at once, a GetIpamPoolCidrs
  per waiting CIDR) and the run's start (the stale-plan guard reads the scope). Target: at most
  the two steps plus one read of each step's state, 4 per pool.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.harness import ROOT, Suite

RATIO_TARGET = 1.5
POLL = 0.2  # seconds between reads of the run's status
CHANGES = ("CreateIpamPool", "ProvisionIpamPoolCidr")
SPACES = ("172.16.0.0/13", "172.24.0.0/13")  # free in the demo seed (its /12 is deprovisioned)


@dataclass(frozen=True)
class Sizes:
    pools: int = 200
    depth: int = 5
    delay: float = 2.0  # seconds of create delay, and as many of provision delay
    workers: tuple[int, ...] = (1, 2)
    settings: tuple[tuple[str, str], ...] = ()  # IPAM_APPLY_* the app's processes get

    @property
    def critical_path(self) -> float:
        return self.depth * (self.delay + self.delay)

    @property
    def reads_budget(self) -> float:
        """Calls per pool allowed: its two steps and one read of each step's state."""
        return 2 * len(CHANGES)


FULL = Sizes()
QUICK = Sizes(pools=20, depth=3, delay=0.5)


def run(quick: bool = False) -> Suite:
    sizes = QUICK if quick else FULL
    suite = Suite("apply", parameters=asdict(sizes) | {"critical_path": sizes.critical_path})
    payload = json.dumps(asdict(sizes))
    done = subprocess.run(
        [sys.executable, "-m", "bench.apply_bench", "--child", payload],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the apply bench failed:\n{done.stderr}")
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for result in results["runs"]:
        _report(suite, sizes, result)
    suite.details = results
    return suite


def _report(suite: Suite, sizes: Sizes, result: dict[str, Any]) -> None:
    label = f"{sizes.pools} pools, depth {sizes.depth}, {result['workers']} worker(s)"
    seconds = result["seconds"]
    suite.add(f"{label}: apply", seconds, "s")
    ratio = seconds / sizes.critical_path
    suite.add(
        f"{label}: apply / critical path ({sizes.critical_path:g} s)",
        ratio,
        "x",
        target=f"<= {RATIO_TARGET}",
        met=result["status"] == "done" and ratio <= RATIO_TARGET,
    )
    suite.add(f"{label}: queue latency (start to first step)", result["queue_latency"], "s")
    suite.add(
        f"{label}: duplicate or missing pools",
        result["bad_nodes"],
        "",
        target="0",
        met=result["bad_nodes"] == 0,
    )
    per_pool = result["calls_per_pool"]
    changes = sum(per_pool.get(action, 0) for action in CHANGES)
    suite.add(
        f"{label}: changes per pool ({' + '.join(CHANGES)})",
        changes,
        "",
        target=f"= {len(CHANGES)}",
        met=abs(changes - len(CHANGES)) < 1e-9,
    )
    total = sum(per_pool.values())
    suite.add(
        f"{label}: AWS calls per pool",
        total,
        "",
        target=f"<= {sizes.reads_budget:g} (steps + a read of each)",
        met=total <= sizes.reads_budget,
    )
    for action, value in sorted(per_pool.items()):
        suite.add(f"{label}: {action} per pool", value, "")


# --- the bench process ------------------------------------------------------------------------


def _child(sizes: Sizes) -> dict[str, Any]:
    import os

    from bench import apply_setup as setup

    with tempfile.TemporaryDirectory(prefix="ipamui-apply-bench-") as directory:
        workdir = Path(directory)
        endpoint = setup.start_endpoint(
            workdir / "ipamsim.sqlite3", create_delay=sizes.delay, provision_delay=sizes.delay
        )
        workers: list[setup.Worker] = []
        try:
            database_url = f"sqlite:///{workdir / 'db.sqlite3'}"
            env = setup.app_env(workdir, endpoint.url, database_url, **dict(sizes.settings))
            setup.prepare_database(env)
            os.environ.update(env)
            import django

            django.setup()
            results = []
            for index, count in enumerate(sizes.workers):
                results.append(_apply(sizes, setup, env, endpoint.url, index, count, workers))
                for worker in workers:
                    worker.stop()
                workers.clear()
            return {"runs": results, "endpoint_peak_rss_mb": endpoint.peak_rss() / 2**20}
        finally:
            for worker in workers:
                worker.stop()
            endpoint.stop()


def _apply(
    sizes: Sizes,
    setup: Any,
    env: dict[str, str],
    url: str,
    index: int,
    count: int,
    workers: list[Any],
) -> dict[str, Any]:
    from planning import runs
    from planning.models import ApplyRun, ApplyStep

    name = f"bench-{count}w"
    plan = setup.create_plan(name, SPACES[index % len(SPACES)], sizes.pools, sizes.depth)
    pools = plan.nodes.count()
    for _ in range(count):
        workers.append(setup.Worker(env))
    for worker in workers:
        worker.wait_started()
    setup.reset_calls(url)
    started = time.time()
    run_ = runs.start(plan)
    status = run_.status
    while status in (ApplyRun.Status.QUEUED, ApplyRun.Status.RUNNING):
        time.sleep(POLL)
        status = ApplyRun.objects.filter(pk=run_.pk).values_list("status", flat=True).get()
    seconds = time.time() - started
    calls = setup.settled_calls(url)
    run_.refresh_from_db()
    steps = ApplyStep.objects.filter(run=run_)
    first = min(s for s in steps.values_list("started_at", flat=True) if s is not None)
    counts = setup.pools_per_node(url, plan.pk)
    keys = set(plan.nodes.values_list("key", flat=True))
    bad = sorted(k for k in keys | set(counts) if counts.get(k, 0) != 1 or k not in keys)
    by_status: dict[str, int] = {}
    for step_status in steps.values_list("status", flat=True):
        by_status[step_status] = by_status.get(step_status, 0) + 1
    tries = list(steps.values_list("tries", flat=True))
    levels: dict[str, dict[str, list[float]]] = {}
    spans: dict[str, list[float]] = {}
    for step_id, action, begun, ended in steps.values_list(
        "step_id", "action", "started_at", "finished_at"
    ):
        if begun is None or ended is None:
            continue
        level = step_id.split("/")[0].rsplit("-", 2)[1]
        at = levels.setdefault(level, {}).setdefault(action, [math.inf, 0.0])
        at[0] = min(at[0], begun.timestamp() - started)
        at[1] = max(at[1], ended.timestamp() - started)
        spans.setdefault(action, []).append((ended - begun).total_seconds())
    return {
        "workers": count,
        "plan": plan.pk,
        "pools": pools,
        "status": status,
        "seconds": seconds,
        "finished_after": (run_.finished_at.timestamp() - started) if run_.finished_at else None,
        "queue_latency": first.timestamp() - started,
        "steps": by_status,
        "tries": {"max": max(tries), "median": statistics.median(tries)},
        # per level and action: the first step claimed and the last done, from start()
        "levels": {level: levels[level] for level in sorted(levels)},
        # per action: claimed to done, median and slowest (the delay is the least it takes)
        "step_seconds": {a: [statistics.median(v), max(v)] for a, v in spans.items()},
        "bad_nodes": len(bad),
        "bad_examples": bad[:5],
        "calls": calls,
        "calls_per_pool": {action: n / pools for action, n in sorted(calls.items())},
        "worker_logs": [w.log()[-2000:] for w in workers] if status != "done" else [],
    }


def _main() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.apply_bench")
    parser.add_argument("--child", required=True, help="the sizes, as JSON")
    args = parser.parse_args()
    raw = json.loads(args.child)
    raw["workers"] = tuple(raw["workers"])
    raw["settings"] = tuple(tuple(pair) for pair in raw["settings"])
    print(json.dumps(_child(Sizes(**raw))), flush=True)


if __name__ == "__main__":
    _main()
