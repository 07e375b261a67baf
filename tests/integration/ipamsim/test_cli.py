"""The command lines: the real AWS CLI against the endpoint, and ``python -m ipamsim``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

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


def test_python_m_ipamsim_serves_and_answers_health(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ipamsim",
            "--port",
            "0",
            "--create-delay",
            "0",
            "--seed",
            "demo",
            "--state",
            str(tmp_path / "state.sqlite3"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        url = None
        for line in process.stdout:
            match = re.search(r"serving EC2 IPAM on (http://\S+)", line)
            if match:
                url = match[1]
                break
        assert url, "the endpoint did not say where it serves"
        with urllib.request.urlopen(f"{url}/_ipamsim/health", timeout=10) as response:
            assert json.loads(response.read()) == {"status": "ok"}
        done = subprocess.run(
            [aws_cli(), "ec2", "describe-ipams", "--region", "us-east-1", "--output", "json"],
            env=cli_env(url),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["Ipams"][0]["Description"] == "Demo IPAM"
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
    assert process.returncode == 0
