"""The test suite's settings: production's (DEBUG off), with what tests on plain HTTP need.

The benchmarks that time requests through Django's test client use them too. The test client
and the live server speak plain HTTP, so the redirect to HTTPS and the
``Secure`` flag on cookies are off here; everything else is as in production. The production
smoke test (``tests/production/test_smoke.py``) runs ``ipamui.settings`` itself under gunicorn,
with collected static files and every HTTPS setting on.
"""

from __future__ import annotations

import os

# Production settings refuse to start without a key; the suite's key signs nothing that lasts.
os.environ.setdefault("SECRET_KEY", "tests-only-" + "k" * 50)

from ipamui.settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# Static files as the finders see them, with their plain names: no test depends on a
# collectstatic having been run, and no manifest left by an older run can hide a new file.
# Hashed names and compression are what the production smoke test checks, on collected files.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
