"""The New pool form: live validation's server time, and what creating costs beyond the AWS
call.

Django runs in a child process (``python -m bench.form_bench``), so its settings are its own:
a temporary SQLite database, migrated, with the demo IPAM seeded into the embedded local
endpoint and synced. Requests go through Django's test client, in that process, as a logged-in
user who may create pools; no HTTP server is involved. How each number is taken:

- live validation: the POSTs htmx sends as the user types (``HX-Request``, ``_live=<field>``),
  over a mix of fields and inputs (netmasks, locales, CIDRs in and out of a source pool's free
  space, tags, a changed scope or source pool, which re-render more of the form). The time is
  the handler's ``get_response`` (middleware, view, template), so the client's own work is left
  out. Every request the EC2 client sends is counted (botocore ``before-call``): the path must
  send none.
- creation: the form's plain POST (validation, ``pools.services.pool_create``, the redirect),
  timed whole, minus the time spent inside ``call_aws`` for CreateIpamPool (boto3 building,
  signing and parsing the call, and the endpoint answering it), measured by wrapping
  ``pools.services.call_aws``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import secrets
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.harness import Stats, Suite, timed

ROOT = Path(__file__).resolve().parent.parent
LIVE_TARGET_MS = 15.0


@dataclass(frozen=True)
class Sizes:
    live: int = 1_000  # live-validation requests timed
    creates: int = 200  # pools created through the form
    warmup: int = 30  # requests of each kind made before timing


QUICK = Sizes(live=300, creates=100, warmup=10)


def run(quick: bool = False) -> Suite:
    """Measure in a child process, so its Django settings and database are its own."""
    sizes = QUICK if quick else Sizes()
    suite = Suite("form", parameters={**asdict(sizes), "database": "SQLite (a temporary file)"})
    with tempfile.TemporaryDirectory(prefix="ipamui-form-bench-") as directory:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "IPAM_", "DATABASE_URL", "DJANGO_"))
        }
        env |= _environment(Path(directory))
        argv = [sys.executable, "-m", "bench.form_bench"]
        argv += ["--live", str(sizes.live), "--creates", str(sizes.creates)]
        argv += ["--warmup", str(sizes.warmup)]
        done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the form benchmark failed:\n{done.stderr}")
    _report(suite, json.loads(done.stdout.strip().splitlines()[-1]))
    return suite


def _environment(directory: Path) -> dict[str, str]:
    """Settings for a throwaway app: SQLite in ``directory``, the embedded endpoint, no seed."""
    return {
        "DJANGO_SETTINGS_MODULE": "ipamui.settings_test",  # for the test client
        "DATABASE_URL": f"sqlite:///{directory / 'bench.sqlite3'}",
        "IPAMUI_VAR_DIR": str(directory),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "testserver",
        "IPAM_BACKEND": "embedded",
        "IPAM_EMBEDDED_STATE": ":memory:",
        "IPAM_EMBEDDED_SEED": "false",
        "IPAM_EMBEDDED_CREATE_DELAY": "0",
        "LOG_LEVEL": "WARNING",
    }


def _report(suite: Suite, result: dict[str, Any]) -> None:
    live, create = result["live"], result["create"]
    stats = Stats.of(live["seconds"])
    suite.add(
        "live validation: server median",
        stats.median * 1000,
        "ms",
        target=f"<= {LIVE_TARGET_MS:g} ms",
        met=stats.median * 1000 <= LIVE_TARGET_MS,
    )
    suite.add("live validation: server p95", stats.p95 * 1000, "ms")
    calls = live["aws_calls"]
    suite.add("live validation: AWS calls", calls, "calls", target="0", met=calls == 0)
    suite.add("live validation: SQL queries, most", max(live["queries"]), "queries")
    beyond = Stats.of([t - a for t, a in zip(create["seconds"], create["aws"], strict=True)])
    aws = Stats.of(create["aws"])
    suite.add("create: request beyond the AWS call, median", beyond.median * 1000, "ms")
    suite.add("create: request beyond the AWS call, p95", beyond.p95 * 1000, "ms")
    suite.add("create: the AWS call itself, median", aws.median * 1000, "ms")
    whole = Stats.of(create["seconds"])
    suite.details["live"] = {
        "requests": len(live["seconds"]),
        "inputs": len(live["queries"]),
        "max_ms": stats.max * 1000,
        "median_ms_by_trigger": {
            trigger: Stats.of(times).median * 1000 for trigger, times in live["by_trigger"].items()
        },
        "queries_by_input": live["queries"],
    }
    suite.details["create"] = {
        "requests": len(create["seconds"]),
        "whole_median_ms": whole.median * 1000,
        "whole_p95_ms": whole.p95 * 1000,
        "aws_p95_ms": aws.p95 * 1000,
    }


# --- the child: Django in this process --------------------------------------------------------


def _child(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.form_bench")
    parser.add_argument("--live", type=int, required=True)
    parser.add_argument("--creates", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    args = parser.parse_args(argv)

    import django

    django.setup()
    bench = _Bench.start()
    try:
        result = {
            "live": _live(bench, args.live, args.warmup),
            "create": _creates(bench, args.creates, args.warmup),
        }
    finally:
        bench.stop()
    print(json.dumps(result), flush=True)
    return 0


class _Bench:
    """The app with the demo IPAM synced, a logged-in client, and counters on the AWS path."""

    def __init__(self, sim: Any, client: Any) -> None:
        self.sim = sim
        self.client = client
        self.aws_calls: list[str] = []
        self.aws_seconds: list[float] = []
        self.server_seconds: list[float] = []
        self._undo: list[Callable[[], None]] = []

    @classmethod
    def start(cls) -> _Bench:
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Permission
        from django.core.management import call_command
        from django.test import Client

        import ipamsim
        from ipamsim.seed import seed_demo
        from pools.aws import ec2_client, reset_clients
        from pools.aws.embedded import use_simulator
        from pools.sync import sync_all

        call_command("migrate", verbosity=0, interactive=False)
        sim = ipamsim.Simulator(ipamsim.Config(create_delay=0))
        use_simulator(sim)
        reset_clients()
        seed_demo(sim)
        sim.config.max_pools_per_scope = 100_000
        settings.IPAM_QUOTAS = {**settings.IPAM_QUOTAS, "pools_per_scope": 100_000}
        sync_all()

        user = get_user_model().objects.create_user("bench")
        user.user_permissions.add(Permission.objects.get(codename="add_ipampool"))
        client = Client()
        client.force_login(user)
        bench = cls(sim, client)
        bench._instrument(ec2_client())
        return bench

    def _instrument(self, ec2: Any) -> None:
        from pools import services

        def count(model: Any, **_: Any) -> None:
            self.aws_calls.append(model.name)

        ec2.meta.events.register("before-call.ec2", count)
        self._undo.append(lambda: ec2.meta.events.unregister("before-call.ec2", count))

        original_call_aws = services.call_aws

        def timed_call_aws(func: Any, /, **params: Any) -> Any:
            with timed() as watch:
                try:
                    return original_call_aws(func, **params)
                finally:
                    watch.stop()
                    self.aws_seconds.append(watch.seconds)

        services.call_aws = timed_call_aws
        self._undo.append(lambda: setattr(services, "call_aws", original_call_aws))

        handler = self.client.handler
        get_response = handler.get_response

        def timed_get_response(request: Any) -> Any:
            with timed() as watch:
                response = get_response(request)
            self.server_seconds.append(watch.seconds)
            return response

        handler.get_response = timed_get_response
        self._undo.append(lambda: setattr(handler, "get_response", get_response))

    def stop(self) -> None:
        from pools.aws import reset_clients
        from pools.aws.embedded import use_simulator

        for undo in reversed(self._undo):
            undo()
        use_simulator(None)
        reset_clients()

    def post(self, data: dict[str, str], **headers: Any) -> tuple[Any, float]:
        """POST the form (to live validation when ``_live`` says what changed); the answer
        and the server's seconds for it."""
        before = len(self.server_seconds)
        url = "/pools/new/validate/" if "_live" in data else "/pools/new/"
        response = self.client.post(url, data, **headers)
        if len(self.server_seconds) != before + 1:
            raise RuntimeError("the handler was not timed")
        return response, self.server_seconds[-1]


# --- form data ------------------------------------------------------------------------------


def _live_inputs() -> list[tuple[str, dict[str, str]]]:
    """(the field that changed, the rest of the form) as a user fills the form in."""
    from pools.models import IpamPool, IpamScope
    from tests.integration.app.pool_form_support import EMPTY_FORM

    private = IpamScope.objects.get(scope_type="private", is_default=True).scope_id
    public = IpamScope.objects.get(scope_type="public", is_default=True).scope_id
    pools = {p.name: p for p in IpamPool.objects.all()}
    prod, corporate = pools["us-east-1-prod"], pools["corporate"]
    child = {"source_pool": prod.pool_id, "locale": prod.locale}
    mix: list[tuple[str, dict[str, str]]] = [
        ("scope", {"scope": private}),
        ("scope", {"scope": public, "address_family": "ipv6"}),
        ("address_family", {"scope": private, "address_family": "ipv6"}),
        ("allocation_min_netmask_length", {"allocation_min_netmask_length": "2"}),
        ("allocation_min_netmask_length", {"allocation_min_netmask_length": "28"}),
        (
            "allocation_max_netmask_length",
            {"allocation_min_netmask_length": "28", "allocation_max_netmask_length": "24"},
        ),
        (
            "allocation_default_netmask_length",
            {
                "allocation_min_netmask_length": "16",
                "allocation_max_netmask_length": "28",
                "allocation_default_netmask_length": "24",
            },
        ),
        ("locale", {"locale": "us-east"}),
        ("locale", {"locale": "us-east-1"}),
        ("locale", {"locale": "ap-south-1"}),
        ("first_cidr", {"first_cidr": "10.0.0.1/16"}),
        ("first_cidr", {"first_cidr": "172.16.0.0/12"}),
        ("first_cidr", {"first_cidr": "10.1.0.0/16"}),  # overlaps a top-level pool
        ("source_pool", child),
        ("source_pool", {"source_pool": corporate.pool_id}),
        ("first_cidr", {**child, "first_cidr": "10.0.1.0/24"}),  # taken
        ("first_cidr", {**child, "first_cidr": "10.0.8.0/21"}),  # free
        ("first_netmask_length", {**child, "first_netmask_length": "20"}),
        ("description", {**child, "description": "web tier"}),
        (
            "tag-0-key",
            {"tag-TOTAL_FORMS": "2", "tag-0-key": "Name", "tag-1-key": "aws:x", "tag-1-value": ""},
        ),
    ]
    return [(trigger, {**EMPTY_FORM, "scope": private, **values}) for trigger, values in mix]


def _create_inputs() -> Iterator[dict[str, str]]:
    """Valid forms, each a new pool: top-level ones with tags, children with a block size."""
    from pools.models import IpamPool, IpamScope
    from tests.integration.app.pool_form_support import EMPTY_FORM

    private = IpamScope.objects.get(scope_type="private", is_default=True).scope_id
    prod = IpamPool.objects.get(name="us-east-1-prod")
    for number in itertools.count():
        values = {"scope": private, "description": f"bench pool {number}"}
        if number % 2:
            values.update(
                {
                    "source_pool": prod.pool_id,
                    "locale": prod.locale,
                    "first_netmask_length": "24",
                }
            )
        else:
            values.update(
                {"tag-TOTAL_FORMS": "1", "tag-0-key": "Name", "tag-0-value": f"bench-{number}"}
            )
        yield {**EMPTY_FORM, **values, "client_token": str(uuid.uuid4())}


# --- measurements ---------------------------------------------------------------------------


def _live(bench: _Bench, count: int, warmup: int) -> dict[str, Any]:
    """Seconds per live-validation request, the AWS calls they made, queries per input."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    inputs = _live_inputs()
    hx = {"HTTP_HX_REQUEST": "true"}
    for trigger, data in itertools.islice(itertools.cycle(inputs), warmup):
        bench.post({**data, "_live": trigger}, **hx)

    calls_before = len(bench.aws_calls)
    samples: list[float] = []
    by_trigger: dict[str, list[float]] = {}
    for trigger, data in itertools.islice(itertools.cycle(inputs), count):
        response, seconds = bench.post({**data, "_live": trigger}, **hx)
        if response.status_code != 200:
            raise RuntimeError(f"live validation answered {response.status_code}")
        samples.append(seconds)
        by_trigger.setdefault(trigger, []).append(seconds)
    aws_calls = len(bench.aws_calls) - calls_before
    if aws_calls:
        raise RuntimeError(f"live validation called AWS {aws_calls} times")

    queries = []
    for trigger, data in inputs:
        with CaptureQueriesContext(connection) as captured:
            bench.post({**data, "_live": trigger}, **hx)
        queries.append(len(captured.captured_queries))
    return {
        "seconds": samples,
        "by_trigger": by_trigger,
        "aws_calls": aws_calls,
        "queries": queries,
    }


def _creates(bench: _Bench, count: int, warmup: int) -> dict[str, Any]:
    """Seconds per creating POST, and the seconds of each spent inside the AWS call."""
    from pools.models import IpamPool

    forms = _create_inputs()
    for data in itertools.islice(forms, warmup):
        _create(bench, data)
    pools_before = IpamPool.objects.count()
    whole, aws = [], []
    for data in itertools.islice(forms, count):
        total, inside = _create(bench, data)
        whole.append(total)
        aws.append(inside)
    created = IpamPool.objects.count() - pools_before
    if created != count:
        raise RuntimeError(f"{created} pools created, expected {count}")
    return {"seconds": whole, "aws": aws}


def _create(bench: _Bench, data: dict[str, str]) -> tuple[float, float]:
    """One creation: (server seconds, seconds inside the CreateIpamPool call)."""
    aws_before, calls_before = len(bench.aws_seconds), len(bench.aws_calls)
    response, seconds = bench.post(data)
    if response.status_code != 302:
        raise RuntimeError(f"creating answered {response.status_code}: {response.content[:300]!r}")
    if bench.aws_calls[calls_before:] != ["CreateIpamPool"]:
        raise RuntimeError(f"creating called {bench.aws_calls[calls_before:]}")
    return seconds, sum(bench.aws_seconds[aws_before:])


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
