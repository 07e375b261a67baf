"""A task worker killed mid-apply, for real (SIGKILL), and the run carried to its end.

Everything is a separate process, as in production: the local endpoint as its HTTP server
(1 s create and provision delays), the app's database (a SQLite file, or a fresh database on
the PostgreSQL server of ``DATABASE_URL``) migrated and synced by ``manage.py``, the plan made
and the run started by ``python -m bench.apply_setup``, and ``manage.py db_worker``. The test
itself never touches pytest-django's test database: it reads the journal with sqlite3 or
psycopg, and the endpoint with boto3.

Every call the endpoint answers takes ``LATENCY`` seconds, so that a step is often in flight
when the worker is killed: the endpoint still carries that call out, the journal never hears
of it, and the next driver must find the pool in AWS (by its owner tags) instead of creating
it again.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench import apply_setup as setup

pytestmark = pytest.mark.http

DELAY = 1.0  # seconds of create and provision delay
LATENCY = 0.3  # seconds every request takes until the kill
LEASE = "2"  # IPAM_APPLY_LEASE of the workers: the dead worker's claims lapse quickly
POOLS, DEPTH = 12, 3
DEADLINE = 60.0  # seconds a run may take after the kill


@dataclass
class Stack:
    url: str
    database_url: str
    env: dict[str, str]

    def env_with(self, **extra: str) -> dict[str, str]:
        return self.env | extra


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The endpoint and the app's database, migrated and synced; shared by this module's
    tests (each applies its own plan, in its own space)."""
    workdir = tmp_path_factory.mktemp("apply-kill")
    endpoint = setup.start_endpoint(
        workdir / "ipamsim.sqlite3", create_delay=DELAY, provision_delay=DELAY
    )
    try:
        with setup.fresh_database(workdir, "kill") as database_url:
            env = setup.app_env(workdir, endpoint.url, database_url, IPAM_APPLY_LEASE=LEASE)
            setup.prepare_database(env)
            yield Stack(endpoint.url, database_url, env)
    finally:
        endpoint.stop()


# --- reading the journal without Django -------------------------------------------------------


def _query(database_url: str, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        connection = sqlite3.connect(path, timeout=10)
        try:
            return connection.execute(sql.replace("%s", "?"), params).fetchall()
        finally:
            connection.close()
    import psycopg

    with psycopg.connect(database_url) as connection:
        return connection.execute(sql, params).fetchall()


def step_statuses(stack: Stack, run_pk: int) -> dict[str, str]:
    rows = _query(
        stack.database_url,
        "SELECT step_id, status FROM planning_applystep WHERE run_id = %s",
        (run_pk,),
    )
    return dict(rows)


def run_status(stack: Stack, run_pk: int) -> str:
    rows = _query(
        stack.database_url, "SELECT status FROM planning_applyrun WHERE id = %s", (run_pk,)
    )
    return rows[0][0]


def wait_for(condition, timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def mid_apply(stack: Stack, run_pk: int) -> dict[str, str] | None:
    """The journal when a create is done, another step is in flight and others are open."""
    steps = step_statuses(stack, run_pk)
    creates_done = any(s.endswith("/create") and v == "done" for s, v in steps.items())
    in_flight = any(v == "running" for v in steps.values())
    still_open = sum(v in ("pending", "running", "waiting") for v in steps.values()) > 1
    return steps if creates_done and in_flight and still_open else None


# --- the test's set-up and checks -------------------------------------------------------------


def start_run(stack: Stack, name: str, space: str) -> tuple[int, int]:
    made = setup.tool(stack.env, "plan", name, space, "--count", str(POOLS), "--depth", str(DEPTH))
    assert made["nodes"] == POOLS
    started = setup.tool(stack.env, "start", str(made["plan"]))
    return made["plan"], started["run"]


def kill_mid_apply(stack: Stack, worker: setup.Worker, run_pk: int) -> dict[str, str]:
    """SIGKILL the worker once the run is half-way, a call in flight; the journal then."""
    seen = wait_for(lambda: mid_apply(stack, run_pk), 30, "a create done and a call in flight")
    worker.kill()
    setup.set_faults(stack.url, {"latency": 0})
    return seen


def assert_applied(
    stack: Stack, plan_pk: int, run_pk: int, at_kill: dict[str, str]
) -> dict[str, Any]:
    """The run is done, exactly one pool per node in AWS, every step done with its journal
    entry, every node bound to its pool."""
    state = setup.tool(stack.env, "journal", str(run_pk))
    assert state["status"] == "done", state
    assert state["plan_status"] == "applied"
    counts = setup.pools_per_node(stack.url, plan_pk)
    keys = {n["key"] for n in state["nodes"]}
    assert len(keys) == POOLS
    assert dict(counts) == dict.fromkeys(keys, 1)  # no duplicate, nothing missing
    in_flight = {step for step, status in at_kill.items() if status == "running"}
    for step in state["steps"]:
        assert step["status"] == "done", step
        assert step["pool_aws_id"], step
        if step["request_id"] or step["answered"]:
            continue
        # No answer: a call in flight at the kill, whose outcome was read from AWS instead
        # (the engine keeps no request id or answer for a step it found done in AWS).
        assert step["step_id"] in in_flight, step
        assert step["maybe_sent"], step
    pools_of = {s["step_id"].split("/")[0]: s["pool_aws_id"] for s in state["steps"]}
    for node in state["nodes"]:
        assert node["pool_aws_id"] == pools_of[node["key"]], node
    return state


@pytest.fixture
def workers() -> Iterator[list[setup.Worker]]:
    started: list[setup.Worker] = []
    yield started
    for worker in started:
        worker.stop()


def test_a_killed_worker_is_taken_over_by_the_next_driver(stack: Stack, workers) -> None:
    """The run's second queued driver, on a new worker, takes the dead one's steps back once
    their lease lapses: what was in flight is read from AWS first, nothing is made twice."""
    setup.set_faults(stack.url, {"latency": LATENCY})
    workers.append(setup.Worker(stack.env))
    plan_pk, run_pk = start_run(stack, "kill-takeover", "172.16.0.0/13")
    at_kill = kill_mid_apply(stack, workers[0], run_pk)
    assert run_status(stack, run_pk) == "running"

    workers.append(setup.Worker(stack.env))
    wait_for(lambda: run_status(stack, run_pk) not in ("queued", "running"), DEADLINE, "the end")
    assert_applied(stack, plan_pk, run_pk, at_kill)


def test_a_stalled_run_is_resumed(stack: Stack, workers) -> None:
    """With one driver per run, a killed worker leaves the run stalled; Resume (after a
    lease without heartbeat) queues a new driver, which reads AWS before sending anything."""
    env = stack.env_with(IPAM_APPLY_DRIVERS="1")
    stack = Stack(stack.url, stack.database_url, env)
    setup.set_faults(stack.url, {"latency": LATENCY})
    workers.append(setup.Worker(env))
    plan_pk, run_pk = start_run(stack, "kill-resume", "172.24.0.0/13")
    at_kill = kill_mid_apply(stack, workers[0], run_pk)

    workers.append(setup.Worker(env))  # nothing queued for it until the run is resumed
    wait_for(lambda: setup.tool(env, "stalled", str(run_pk))["stalled"], 30, "a stalled run", 0.5)
    assert run_status(stack, run_pk) == "running"
    assert setup.tool(env, "resume", str(run_pk))["status"] == "running"
    wait_for(lambda: run_status(stack, run_pk) not in ("queued", "running"), DEADLINE, "the end")
    assert_applied(stack, plan_pk, run_pk, at_kill)
