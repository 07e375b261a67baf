"""What the apply benchmark and the kill-and-resume test share: the local endpoint as its HTTP
server, the app's database migrated and synced from it, task workers, plans of a given size
and depth, and Django-free reads of the endpoint (pools per node, calls per action).

Everything the app does runs in subprocesses, as in production: ``manage.py migrate``,
``ipam_sync`` and ``db_worker``. ``python -m bench.apply_setup COMMAND`` is the small
Django-side tool the test drives the app with (create a plan, start or resume its run, read
the journal), each command printing one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from bench.harness import ROOT, ChildProcess, free_port

HOST = "127.0.0.1"
REGION = "us-east-1"
PLAN_TAG = "ipamui:plan"  # planning.journal's owner tags, repeated here to stay Django-free
NODE_TAG = "ipamui:node"
POOLS_PER_SCOPE = 2000  # the endpoint's and the app's quota, far above what the plans need
FANOUT = 4  # children per parent at most
PREFIX_STEP = 3  # a child's prefix is this much longer than its parent's (room for 8)


# --- the endpoint -----------------------------------------------------------------------------


def start_endpoint(
    state: Path, *, create_delay: float, provision_delay: float, port: int | None = None
) -> ChildProcess:
    """``python -m ipamsim`` on a loopback port, with the demo IPAM in its state file."""
    base = ["-m", "ipamsim", "--host", HOST, "--state", str(state)]
    base += ["--max-pools-per-scope", str(POOLS_PER_SCOPE)]
    port = port or free_port(HOST)
    argv = [*base, "--port", str(port), "--seed", "demo"]
    argv += ["--create-delay", str(create_delay), "--provision-delay", str(provision_delay)]
    return ChildProcess(argv, host=HOST, port=port, health_path="/_ipamsim/health")


def _control(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = Request(f"{url}{path}", data=data, method="GET" if data is None else "POST")
    with urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def calls(url: str) -> dict[str, int]:
    """Requests the endpoint has answered per action since the last reset."""
    return _control(url, "/_ipamsim/calls")


def settled_calls(url: str, quiet: float = 1.0) -> dict[str, int]:
    """The endpoint's count of calls once it has stayed the same for ``quiet`` seconds: the
    run is done before the mirror has read the parents' allocations back, and those count."""
    counted = calls(url)
    while True:
        time.sleep(quiet)
        again = calls(url)
        if again == counted:
            return counted
        counted = again


def reset_calls(url: str) -> None:
    _control(url, "/_ipamsim/calls", {})


def set_faults(url: str, faults: dict[str, Any]) -> dict[str, Any]:
    """Change some of the endpoint's faults (``latency``, ``throttle_rate`` ...)."""
    return _control(url, "/_ipamsim/faults", faults)


def ec2(url: str) -> Any:
    import boto3

    return boto3.client(
        "ec2",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def pools_per_node(url: str, plan_pk: int) -> Counter[str]:
    """Live pools the endpoint has for each node of the plan (by their owner tags)."""
    client = ec2(url)
    counts: Counter[str] = Counter()
    paginator = client.get_paginator("describe_ipam_pools")
    filters = [{"Name": f"tag:{PLAN_TAG}", "Values": [str(plan_pk)]}]
    for page in paginator.paginate(Filters=filters, MaxResults=1000):
        for pool in page["IpamPools"]:
            if pool["State"] in ("delete-in-progress", "delete-complete", "create-failed"):
                continue
            tags = {t["Key"]: t["Value"] for t in pool.get("Tags", [])}
            counts[tags.get(NODE_TAG, "?")] += 1
    return counts


# --- the app's processes ----------------------------------------------------------------------


def app_env(workdir: Path, endpoint_url: str, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of every app process: the endpoint as AWS, the given database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "IPAM_", "DATABASE_URL", "DJANGO_", "TASKS_"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "ipamui.settings",
        "DATABASE_URL": database_url,
        "IPAM_BACKEND": "aws",
        "AWS_ENDPOINT_URL_EC2": endpoint_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "IPAMUI_VAR_DIR": str(workdir),
        "DEBUG": "true",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LOG_LEVEL": "WARNING",
        "IPAM_SYNC_INTERVAL": "0",
        "IPAM_QUOTA_POOLS_PER_SCOPE": str(POOLS_PER_SCOPE),
    }
    return env | dict(extra)


def manage(env: Mapping[str, str], *args: str, timeout: float = 300) -> str:
    """``manage.py ARGS`` to its end; its standard output."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def prepare_database(env: Mapping[str, str]) -> None:
    """Migrate, then import the endpoint's IPAM."""
    manage(env, "migrate", "--no-input", "--verbosity", "0")
    manage(env, "ipam_sync", "--verbosity", "0")


def tool(env: Mapping[str, str], *args: str, timeout: float = 120) -> Any:
    """``python -m bench.apply_setup ARGS`` with the app's environment: its JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.apply_setup", *args],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"apply_setup {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class Worker:
    """A ``manage.py db_worker`` process; its output goes to a file, read by :meth:`log`."""

    def __init__(self, env: Mapping[str, str], *, interval: float = 0.1) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        argv = ["manage.py", "db_worker", "--interval", str(interval)]
        argv += ["--no-startup-delay", "--no-reload"]
        self.process = subprocess.Popen(
            [sys.executable, *argv],
            env=dict(env),
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_started(self, timeout: float = 60) -> None:
        """Until the worker says it polls the queue (Django imported, database open)."""
        deadline = time.monotonic() + timeout
        while "Starting worker" not in self.log():
            if self.process.poll() is not None:
                raise RuntimeError(f"db_worker exited at start:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"db_worker did not start within {timeout:.0f} s")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as when the machine or the container goes."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self._log.closed:
            self._log.close()

    def log(self) -> str:
        if self._log.closed:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")


# --- databases --------------------------------------------------------------------------------


@contextmanager
def fresh_database(workdir: Path, label: str) -> Iterator[str]:
    """A new database for the app: a fresh one on the PostgreSQL server of ``DATABASE_URL``
    when that names one (created here, dropped after), else a SQLite file in ``workdir``."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{workdir / f'{label}.sqlite3'}"
        return
    import psycopg

    parts = urlsplit(url)
    admin_url = parts._replace(path="/postgres").geturl()
    name = f"ipamui_{label}_{os.getpid()}_{secrets.token_hex(3)}".replace("-", "_")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- plans (Django set up) --------------------------------------------------------------------


def level_sizes(count: int, depth: int, roots: int = 1) -> list[int]:
    """Nodes per level: the upper levels as full as :data:`FANOUT` allows, every level down to
    ``depth`` with at least one node, ``count`` in all."""
    if not 1 <= roots <= count or depth < 1 or count < roots + depth - 1:
        raise ValueError(f"{count} nodes do not make {depth} levels from {roots} roots")
    sizes = [roots]
    for level in range(2, depth + 1):
        left = count - sum(sizes)
        reserve = depth - level  # one node for each deeper level
        sizes.append(min(FANOUT * sizes[-1], left - reserve) if level < depth else left)
    if sizes[-1] > FANOUT * sizes[-2]:
        raise ValueError(f"{count} nodes do not fit {depth} levels of fan-out {FANOUT}")
    return sizes


def tree_nodes(count: int, depth: int, top_prefix: int, *, label: str, roots: int = 1) -> list[Any]:
    """``count`` :class:`~planning.spec.NodeSpec` s, ``depth`` levels deep: each level's nodes
    spread over the parents of the level above in turn, each a /``PREFIX_STEP`` longer than
    its parent; the top-level nodes in us-east-1."""
    from planning.spec import NodeSpec

    nodes: list[NodeSpec] = []
    parents: list[str | None] = [None]
    for level, size in enumerate(level_sizes(count, depth, roots), start=1):
        keys = [f"n-{label}-{level}-{index}" for index in range(size)]
        for index, key in enumerate(keys):
            nodes.append(
                NodeSpec(
                    key=key,
                    name=f"{label}-{level}-{index}",
                    parent=parents[index % len(parents)],
                    prefix_length=top_prefix + PREFIX_STEP * (level - 1),
                    locale=REGION if level == 1 else None,
                )
            )
        parents = list(keys)
    return nodes


def create_plan(name: str, space: str, count: int, depth: int, *, roots: int = 1) -> Any:
    """A checked plan in the demo IPAM's private default scope, with no error finding."""
    from netaddr import IPNetwork

    from planning import services
    from pools.models import IpamScope

    scope = IpamScope.objects.select_related("ipam").get(scope_type="private", is_default=True)
    network = IPNetwork(space)
    top_prefix = network.prefixlen + (0 if roots == 1 else (roots - 1).bit_length())
    plan = services.plan_create(
        ipam=scope.ipam,
        scope=scope,
        address_family="ipv4",
        name=name,
        space=[network],
        nodes=tree_nodes(count, depth, top_prefix, label=name, roots=roots),
    ).plan
    plan = services.plan_validate(plan).plan
    if plan.error_count:
        errors = [f for f in plan.findings if f.get("severity") == "error"]
        raise RuntimeError(f"the plan {name} has errors: {errors[:5]}")
    return plan


def journal(run_pk: int) -> dict[str, Any]:
    """The run and its steps, as plain values."""
    from planning.models import ApplyRun, PlanNode

    run = ApplyRun.objects.get(pk=run_pk)
    steps = list(
        run.steps.values(
            "step_id", "action", "status", "request_id", "answer", "pool_aws_id", "tries",
            "maybe_sent", "owner", "note", "started_at", "finished_at",
        )
    )  # fmt: skip
    for step in steps:
        step["answered"] = bool(step.pop("answer"))
        for key in ("started_at", "finished_at"):
            step[key] = step[key].timestamp() if step[key] else None
    nodes = list(PlanNode.objects.filter(plan=run.plan_id).values("key", "pool_aws_id"))
    return {
        "run": run.pk,
        "plan": run.plan_id,
        "status": run.status,
        "plan_status": run.plan.status,
        "steps": steps,
        "nodes": nodes,
    }


# --- the command line (the test's hands on the app) -------------------------------------------


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.apply_setup")
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="create a checked plan")
    plan.add_argument("name")
    plan.add_argument("space")
    plan.add_argument("--count", type=int, required=True)
    plan.add_argument("--depth", type=int, required=True)
    plan.add_argument("--roots", type=int, default=1)
    start = commands.add_parser("start", help="start applying a plan")
    start.add_argument("plan", type=int)
    for name in ("journal", "resume", "stalled"):
        commands.add_parser(name).add_argument("run", type=int)
    args = parser.parse_args(argv)

    import django

    django.setup()
    from planning import runs
    from planning.models import ApplyRun, Plan

    if args.command == "plan":
        made = create_plan(args.name, args.space, args.count, args.depth, roots=args.roots)
        answer: Any = {"plan": made.pk, "nodes": made.nodes.count()}
    elif args.command == "start":
        answer = {"run": runs.start(Plan.objects.get(pk=args.plan)).pk, "at": time.time()}
    elif args.command == "resume":
        run = runs.resume(ApplyRun.objects.get(pk=args.run))
        answer = {"run": run.pk, "status": run.status}
    elif args.command == "stalled":
        answer = {"stalled": runs.is_stalled(ApplyRun.objects.get(pk=args.run))}
    else:
        answer = journal(args.run)
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
