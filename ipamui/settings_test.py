"""The test suite's settings: production's (DEBUG off), with what tests on plain HTTP need."""

from __future__ import annotations

import os

# Production settings refuse to start without a key; the suite's key signs nothing that lasts.
os.environ.setdefault("SECRET_KEY", "tests-only-" + "k" * 50)

from ipamui.settings import *  # noqa: F403
