"""Logging in production: every 500 reaches stderr with its traceback, and so do the app's own
loggers, at the level LOG_LEVEL sets. Each case runs in a process of its own, so what is read is
what a server would write to its real stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.production.support import ROOT, clean_environment

# A view that fails, served with the production settings through Django's test client.
SCRIPT = """
import logging
import django
django.setup()

from django.contrib.auth.decorators import login_not_required
from django.test import Client
from django.test.utils import override_settings
from django.urls import path


@login_not_required
def fails(request):
    raise RuntimeError("the view failed on purpose")


urlpatterns = [path("fails/", fails)]

for name in ("pools.services", "ipamsim.store"):
    logger = logging.getLogger(name)
    logger.debug("%s says debug", name)
    logger.info("%s says info", name)

with override_settings(ROOT_URLCONF=__import__(__name__), ALLOWED_HOSTS=["testserver"]):
    answer = Client(raise_request_exception=False).get("/fails/", secure=True)
    missing = Client().get("/no-such-page/", secure=True)
print(answer.status_code, missing.status_code)
"""


def run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=clean_environment(tmp_path, **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


@pytest.fixture(scope="module")
def default_level(tmp_path_factory) -> subprocess.CompletedProcess:
    return run(tmp_path_factory.mktemp("logging"))


def test_a_500_is_logged_to_stderr_with_its_traceback(default_level) -> None:
    assert default_level.stdout.split() == ["500", "404"]
    err = default_level.stderr
    assert "ERROR [django.request]" in err
    assert "Internal Server Error: /fails/" in err
    assert "Traceback (most recent call last):" in err
    assert "RuntimeError: the view failed on purpose" in err


def test_a_404_is_not_an_error(default_level) -> None:
    assert "/no-such-page/" not in default_level.stderr


def test_the_apps_loggers_write_info_to_stderr(default_level) -> None:
    err = default_level.stderr
    assert "INFO [pools.services]" in err
    assert "pools.services says info" in err
    assert "INFO [ipamsim.store]" in err
    assert "ipamsim.store says info" in err
    assert "says debug" not in err
    assert "says info" not in default_level.stdout


def test_log_level_from_the_environment(tmp_path: Path) -> None:
    debug = run(tmp_path / "debug", LOG_LEVEL="debug").stderr
    warning = run(tmp_path / "warning", LOG_LEVEL="WARNING").stderr

    assert "pools.services says debug" in debug
    assert "ipamsim.store says debug" in debug
    assert "says info" not in warning
    assert "RuntimeError: the view failed on purpose" in warning, "500s whatever the level"
