"""Settings read from the environment, each case evaluated by a fresh import of the module."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ENV_KEYS = (
    "DATABASE_URL",
    "IPAM_BACKEND",
    "AWS_ENDPOINT_URL_EC2",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "IPAM_MAX_ATTEMPTS",
    "IPAM_EMBEDDED_SEED",
    "IPAM_EMBEDDED_STATE",
)

# Runs in a subprocess: imports the settings module once per case, with only that case's
# variables set, and prints what it read.
PROBE = """
import importlib, json, os, sys
from django.core.exceptions import ImproperlyConfigured
cases = json.load(sys.stdin)
keys = cases.pop(0)
base = cases.pop(0)
module = None
results = []
for case in cases:
    for key in keys:
        os.environ.pop(key, None)
    os.environ.update(base)
    os.environ.update(case)
    try:
        if module is None:
            import ipamui.settings as module
        else:
            module = importlib.reload(module)
    except ImproperlyConfigured as refused:
        results.append({"refused": str(refused)})
        continue
    db = module.DATABASES["default"]
    results.append({
        "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST", ""),
        "conn_max_age": db.get("CONN_MAX_AGE"),
        "transaction_mode": db.get("OPTIONS", {}).get("transaction_mode"),
        "backend": module.IPAM_BACKEND, "region": module.IPAM_REGION,
        "secret_key": module.SECRET_KEY, "debug": module.DEBUG,
        "allowed_hosts": module.ALLOWED_HOSTS, "max_attempts": module.IPAM_MAX_ATTEMPTS,
        "seed": module.IPAM_EMBEDDED_SEED, "state": module.IPAM_EMBEDDED_STATE,
        "var_dir": str(module.VAR_DIR),
    })
print(json.dumps(results))
"""


# Production (DEBUG off) needs a key from the environment; each case has this one unless it
# sets SECRET_KEY itself ("" for none).
KEY = "from-the-environment-" + "k" * 40


def read_settings(tmp_path: Path, *cases: dict[str, str]) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env["IPAMUI_VAR_DIR"] = str(tmp_path)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    answer = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=json.dumps([list(ENV_KEYS), {"SECRET_KEY": KEY}, *cases]),
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        timeout=60,
    )
    return json.loads(answer.stdout)


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="module")
def cases(var_dir) -> dict[str, dict]:
    names_and_env = {
        "defaults": {},
        "postgres": {"DATABASE_URL": "postgres://ipam:pw@db.example:5432/ipamui"},
        "endpoint": {"AWS_ENDPOINT_URL_EC2": "http://127.0.0.1:4510"},
        "explicit-aws": {"IPAM_BACKEND": "aws"},
        "explicit-embedded": {
            "IPAM_BACKEND": "embedded",
            "AWS_ENDPOINT_URL_EC2": "http://127.0.0.1:4510",
        },
        "regions": {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2"},
        "default-region": {"AWS_DEFAULT_REGION": "us-west-2"},
        "secret": {"SECRET_KEY": "from-the-environment", "DEBUG": "true"},
        "development": {"SECRET_KEY": "", "DEBUG": "true"},
        "development-postgres": {
            "SECRET_KEY": "",
            "DEBUG": "true",
            "DATABASE_URL": "postgres://ipam:pw@db.example:5432/ipamui",
        },
        "production-without-key": {"SECRET_KEY": ""},
        "unknown-backend": {"IPAM_BACKEND": "amazon"},
        "hosts": {"ALLOWED_HOSTS": "ipam.example.com, 10.0.0.5 ,", "DEBUG": "no"},
        "tuning": {
            "IPAM_MAX_ATTEMPTS": "7",
            "IPAM_EMBEDDED_SEED": "false",
            "IPAM_EMBEDDED_STATE": ":memory:",
        },
    }
    results = read_settings(var_dir, *names_and_env.values())
    return dict(zip(names_and_env, results, strict=True))


def test_default_database_is_sqlite_in_the_var_directory(cases, var_dir):
    default = cases["defaults"]

    assert default["engine"] == "django.db.backends.sqlite3"
    assert Path(default["name"]) == var_dir / "db.sqlite3"
    assert default["conn_max_age"] == 0
    assert default["transaction_mode"] == "IMMEDIATE"


def test_database_url_selects_postgresql(cases):
    postgres = cases["postgres"]

    assert postgres["engine"] == "django.db.backends.postgresql"
    assert (postgres["name"], postgres["host"]) == ("ipamui", "db.example")
    assert postgres["conn_max_age"] == 60
    assert postgres["transaction_mode"] is None


@pytest.mark.parametrize(
    ("case", "backend"),
    [
        ("defaults", "embedded"),
        ("endpoint", "aws"),
        ("explicit-aws", "aws"),
        ("explicit-embedded", "embedded"),
    ],
)
def test_ipam_backend(cases, case, backend):
    assert cases[case]["backend"] == backend


@pytest.mark.parametrize(
    ("case", "region"),
    [("defaults", "us-east-1"), ("regions", "eu-west-1"), ("default-region", "us-west-2")],
)
def test_region(cases, case, region):
    assert cases[case]["region"] == region


def test_secret_key_is_generated_once_and_kept_in_development(cases, var_dir):
    key_file = var_dir / "secret_key"

    assert cases["development"]["secret_key"] == key_file.read_text().strip()
    assert len(cases["development"]["secret_key"]) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert cases["development-postgres"]["secret_key"] == cases["development"]["secret_key"]
    assert cases["secret"]["secret_key"] == "from-the-environment"
    assert cases["defaults"]["secret_key"] == KEY


def test_production_without_a_secret_key_refuses_to_start(cases):
    assert "SECRET_KEY is not set" in cases["production-without-key"]["refused"]


def test_an_unknown_ipam_backend_refuses_to_start(cases):
    assert "IPAM_BACKEND='amazon'" in cases["unknown-backend"]["refused"]


def test_debug_and_hosts(cases):
    assert cases["defaults"]["debug"] is False
    assert cases["secret"]["debug"] is True
    assert cases["hosts"]["debug"] is False
    assert cases["defaults"]["allowed_hosts"] == ["127.0.0.1", "localhost"]
    assert cases["hosts"]["allowed_hosts"] == ["ipam.example.com", "10.0.0.5"]


def test_tuning(cases, var_dir):
    assert cases["defaults"]["max_attempts"] == 4
    assert cases["tuning"]["max_attempts"] == 7
    assert cases["defaults"]["seed"] is True
    assert cases["tuning"]["seed"] is False
    assert Path(cases["defaults"]["state"]) == var_dir / "ipamsim.sqlite3"
    assert cases["tuning"]["state"] == ":memory:"
