"""The command lines: the real AWS CLI against the endpoint, and ``python -m ipamsim``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import ipamsim

pytestmark = pytest.mark.http


def aws_cli() -> str:
    beside = Path(sys.executable).with_name("aws")
    found = str(beside) if beside.exists() else shutil.which("aws")
    if not found:
        pytest.skip("the AWS CLI (a dev dependency) is not installed")
    return found


def cli_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_ENDPOINT_URL_EC2": url,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    return env


def test_the_aws_cli_describes_pools(shared_server, world):
    pool_id = world.pool(Description="seen by the CLI", Locale="us-east-1")

    done = subprocess.run(
        [
            aws_cli(),
            "ec2",
            "describe-ipam-pools",
            "--region",
            "us-east-1",
            "--output",
            "json",
            "--filters",
            "Name=locale,Values=us-east-1",
        ],
        env=cli_env(shared_server.url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    pools = json.loads(done.stdout)["IpamPools"]
    assert [(p["IpamPoolId"], p["Description"], p["Locale"]) for p in pools] == [
        (pool_id, "seen by the CLI", "us-east-1")
    ]


def test_the_aws_cli_reports_an_error(shared_server, world):
    done = subprocess.run(
        [
            aws_cli(),
            "ec2",
            "create-ipam-pool",
            "--region",
            "us-east-1",
            "--ipam-scope-id",
            world.private_scope,
            "--address-family",
            "ipv4",
            "--locale",
            "ap-south-1",
        ],
        env=cli_env(shared_server.url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode != 0
    assert "InvalidParameterValue" in done.stderr


ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def ipamsim_server(state: Path, *args: str) -> Iterator[tuple[str, list[str]]]:
    """``python -m ipamsim --state STATE ARGS`` on a free port: (its URL, what it printed
    before serving). It must stop cleanly when terminated."""
    command = [sys.executable, "-m", "ipamsim", "--port", "0", "--create-delay", "0"]
    process = subprocess.Popen(
        [*command, "--state", str(state), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    printed: list[str] = []
    try:
        url = None
        for line in process.stdout:
            printed.append(line)
            match = re.search(r"serving EC2 IPAM on (http://\S+)", line)
            if match:
                url = match[1]
                break
        assert url, f"the endpoint did not say where it serves: {printed}"
        yield url, printed
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
    assert process.returncode == 0


def describe_ipams(url: str) -> list[dict]:
    done = subprocess.run(
        [aws_cli(), "ec2", "describe-ipams", "--region", "us-east-1", "--output", "json"],
        env=cli_env(url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["Ipams"]


def test_python_m_ipamsim_serves_and_answers_health(tmp_path):
    with ipamsim_server(tmp_path / "state.sqlite3", "--seed", "demo") as (url, _):
        with urllib.request.urlopen(f"{url}/_ipamsim/health", timeout=10) as response:
            assert json.loads(response.read()) == {"status": "ok"}
        assert describe_ipams(url)[0]["Description"] == "Demo IPAM"


def test_seed_demo_seeds_an_empty_state_once_and_restarts(tmp_path):
    """``make ipamsim`` twice: the second start finds the demo IPAM and adds nothing."""
    state = tmp_path / "state.sqlite3"
    with ipamsim_server(state, "--seed", "demo") as (url, printed):
        assert "ipamsim: created the demo IPAM\n" in printed
        first = describe_ipams(url)

    with ipamsim_server(state, "--seed", "demo") as (url, printed):
        assert "ipamsim: created the demo IPAM\n" not in printed
        assert describe_ipams(url) == first
    assert [ipam["Description"] for ipam in first] == ["Demo IPAM"]


def test_seed_demo_leaves_a_state_that_has_an_ipam(tmp_path):
    state = tmp_path / "state.sqlite3"
    sim = ipamsim.Simulator(state_path=str(state))
    sim.call("CreateIpam", Description="mine")
    sim.store.close()

    with ipamsim_server(state, "--seed", "demo") as (url, _):
        assert [ipam["Description"] for ipam in describe_ipams(url)] == ["mine"]


def test_a_seed_function_that_cannot_be_found_is_a_usage_error(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "ipamsim", "--port", "0", "--seed", "no_such_module_x:seed"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )

    assert done.returncode == 2
    assert "--seed no_such_module_x:seed" in done.stderr
    assert "Traceback" not in done.stderr
