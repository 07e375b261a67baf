"""Production settings read in a fresh process, as a server would start with them."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# Variables of the developer's or CI's shell that would change what a case reads.
CLEARED_PREFIXES = ("DJANGO_", "IPAM_", "AWS_", "SECURE_", "SESSION_", "CSRF_", "AXES_")
CLEARED = {"DATABASE_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "LOG_LEVEL", "STATIC_ROOT"}


def clean_environment(var_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a production process: DEBUG off, a generated key, SQLite and the
    embedded endpoint's state in ``var_dir``, plus ``overrides``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in CLEARED and not key.startswith(CLEARED_PREFIXES)
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "ipamui.settings",
        "IPAMUI_VAR_DIR": str(var_dir),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
    }
    return env | overrides


PROBE = """
import json, sys
from django.core.exceptions import ImproperlyConfigured
try:
    import ipamui.settings as s
except ImproperlyConfigured as refused:
    print(json.dumps({"refused": str(refused)}))
else:
    print(json.dumps({name: getattr(s, name) for name in sys.argv[1:]}, default=repr))
"""


def read_settings(env: dict[str, str], *names: str) -> dict[str, Any]:
    """``names`` as ``ipamui.settings`` sets them in ``env`` (``{"refused": message}`` when it
    refuses to start)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *names],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
