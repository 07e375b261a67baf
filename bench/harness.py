"""What every benchmark shares: timing, summary statistics, child processes and the report."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# --- timing and statistics ------------------------------------------------------------------


class Stopwatch:
    """Elapsed wall-clock seconds of a ``with timed() as watch:`` block."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.seconds = 0.0

    def stop(self) -> float:
        self.seconds = time.perf_counter() - self.started
        return self.seconds


@contextmanager
def timed() -> Iterator[Stopwatch]:
    watch = Stopwatch()
    try:
        yield watch
    finally:
        watch.stop()


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolated linearly between the nearest ranks."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Stats:
    n: int
    median: float
    p95: float
    min: float
    max: float
    total: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        return cls(
            n=len(samples),
            median=percentile(samples, 50),
            p95=percentile(samples, 95),
            min=min(samples, default=math.nan),
            max=max(samples, default=math.nan),
            total=sum(samples),
        )


# --- results --------------------------------------------------------------------------------


@dataclass
class Measurement:
    name: str
    value: float
    unit: str
    target: str = ""  # what the value must satisfy, in words, when there is a target
    met: bool | None = None  # None when there is no target


@dataclass
class Suite:
    """The measurements of one benchmark module, with the parameters it ran with."""

    name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    measurements: list[Measurement] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # raw samples etc., JSON only

    def add(
        self, name: str, value: float, unit: str, *, target: str = "", met: bool | None = None
    ) -> Measurement:
        measurement = Measurement(name, value, unit, target, met)
        self.measurements.append(measurement)
        return measurement


def _number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def format_table(suites: Sequence[Suite]) -> str:
    rows = [("benchmark", "measurement", "value", "unit", "target", "met")]
    for suite in suites:
        for m in suite.measurements:
            met = "" if m.met is None else ("yes" if m.met else "NO")
            rows.append((suite.name, m.name, _number(m.value), m.unit, m.target, met))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.rjust(width) if column == 2 else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def environment() -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "boto3": version("boto3"),
        "botocore": version("botocore"),
    }


def write_results(suites: Sequence[Suite], directory: Path = RESULTS_DIR) -> Path:
    """Write the run as ``<directory>/<UTC time>.json`` and return that path."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    path = directory / f"{now:%Y%m%dT%H%M%SZ}.json"
    document = {
        "time": now.isoformat(timespec="seconds"),
        "environment": environment(),
        "suites": [asdict(suite) for suite in suites],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


# --- child processes ------------------------------------------------------------------------


def django_child(module: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Run ``python -m <module> --child <payload as JSON>`` with Django set up for the test
    client on a fresh SQLite database in a temporary directory, the embedded endpoint empty;
    returns the last line it prints, read as JSON."""
    with tempfile.TemporaryDirectory(prefix="bench-") as directory:
        env = {
            **os.environ,
            "IPAMUI_VAR_DIR": directory,
            "DATABASE_URL": f"sqlite:///{Path(directory) / 'db.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "ipamui.settings_test",
            "SECRET_KEY": "bench-" + "x" * 50,
            "DEBUG": "false",
            "IPAM_BACKEND": "embedded",
            "IPAM_EMBEDDED_SEED": "false",
            "ALLOWED_HOSTS": "testserver",
        }
        env.pop("AWS_ENDPOINT_URL_EC2", None)
        argv = [sys.executable, "-m", module, "--child", json.dumps(payload)]
        done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{module} failed:\n{done.stderr}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def child_main(child: Callable[[Any], dict[str, Any]], sizes: Callable[..., Any]) -> None:
    """The ``--child`` entry point of a benchmark module that :func:`django_child` starts:
    ``child(sizes(**payload))``, printed as one line of JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", required=True, help="the sizes, as JSON")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    print(json.dumps(child(sizes(**json.loads(args.child)))))


def take_turns(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, dict[str, Any]]:
    """Time each call ``rounds`` times, the calls taking turns (a, b, c, a, b, c, ...) so that
    a change in the machine's load weighs on all of them alike; their :class:`Stats`."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            begun = time.perf_counter()
            call()
            samples[name].append(time.perf_counter() - begun)
    return {name: asdict(Stats.of(values)) for name, values in samples.items()}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class ChildProcess:
    """A server in its own process, so its CPU time and memory are measured apart from ours."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        host: str,
        port: int,
        health_path: str,
        startup_timeout: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        # A file, not a pipe: a full pipe would stall the server. Closed by stop().
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = subprocess.Popen(
            [sys.executable, *argv],
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            cwd=Path(__file__).resolve().parent.parent,
        )
        self._wait_healthy(health_path, startup_timeout)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _wait_healthy(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the server exited at start:\n{self.stderr()}")
            connection = HTTPConnection(self.host, self.port, timeout=1)
            try:
                connection.request("GET", path)
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.05)
            finally:
                connection.close()
        self.stop()
        raise RuntimeError(f"the server did not answer {path} within {timeout:.0f} s")

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def _status(self, key: str) -> int:
        """A ``/proc/<pid>/status`` memory figure (``VmHWM``, ``VmRSS``) in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) * 1024  # the kernel writes kB
        raise KeyError(key)

    def peak_rss(self) -> int:
        return self._status("VmHWM")

    def rss(self) -> int:
        return self._status("VmRSS")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        utime, stime = int(fields[11]), int(fields[12])
        return (utime + stime) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._stderr.close()

    def __enter__(self) -> ChildProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
