"""Settings, read from the environment.

With no AWS configuration the app talks to the embedded local IPAM endpoint (``ipamsim``), with
its state in ``var/``; ``IPAM_BACKEND=aws`` (or ``AWS_ENDPOINT_URL_EC2``) uses boto3's standard
credential chain and Region instead.

``DEBUG=true`` (what ``make run`` sets) needs no environment at all. With DEBUG off, as in
production, ``SECRET_KEY`` must be set, and a setting that makes no sense stops the start with
``ImproperlyConfigured`` rather than being guessed at.
"""

from __future__ import annotations

import math
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("IPAMUI_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")


def _secret_key() -> str:
    """SECRET_KEY from the environment; in development (DEBUG on) one generated once and kept
    in var/. In production a key file per host would sign sessions differently on each host
    behind the load balancer, so there the key must come from the environment."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off the app takes its key from the environment "
            "only: set SECRET_KEY to a long random string, the same for every process "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or set DEBUG=true "
            "for development, which keeps a generated key in var/secret_key."
        )
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")


# --- HTTPS -----------------------------------------------------------------------------------
# In production TLS ends at the load balancer or proxy in front of gunicorn. Everything below is
# on by default when DEBUG is off and off when it is on; each can be set from the environment.
def _proxy_ssl_header() -> tuple[str, str] | None:
    """``SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https``: the request header (as
    request.META names it) and the value by which the proxy says the client used HTTPS."""
    value = os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip()
    if not value:
        return None
    header, _, expected = (part.strip() for part in value.partition(","))
    if not header.startswith("HTTP_") or not expected:
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER={value!r} is not of the form HEADER,VALUE with the header "
            "as Django names it, e.g. HTTP_X_FORWARDED_PROTO,https"
        )
    return header, expected


# Only for a proxy that sets the header on every request, removing any a client sent.
SECURE_PROXY_SSL_HEADER = _proxy_ssl_header()
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# The load balancer's health checks come over plain HTTP, and must not be sent to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# Preloading is for the owner of the whole domain to decide: a preload flag lets anyone submit
# the domain to the browsers' built-in list. Off unless asked for, and Django's reminder
# (security.W021) silenced while it is off.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
# No script reads the CSRF cookie: htmx sends the token from the page (base.html).
CSRF_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # runserver leaves static files to WhiteNoise, so development serves them as production does
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "django_htmx",
    "template_partials.apps.SimpleAppConfig",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "auditlog",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pools",
    "planning",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files are answered here, before anything below runs; they come gzipped already.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Above every middleware that reads or changes the body, so that it compresses last. Django
    # pads what it compresses with random bytes against BREACH.
    "django.middleware.gzip.GZipMiddleware",
    "csp.middleware.CSPMiddleware",
    "ipamui.middleware.RefuseNulInQueryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A request to the API with a bearer token acts as the token's user.
    "api.auth.ApiTokenMiddleware",
    "ipamui.middleware.LoginRequiredMiddleware",
    # The logged-in user becomes the actor of the change log's entries.
    "ipamui.middleware.ChangeActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

# Content Security Policy (django-csp): scripts and styles from this site's own files only, no
# eval and nothing inline. The templates have no inline script, event handler or style
# attribute, and htmx is told (templates/base.html) neither to eval nor to inject its
# indicator <style>: static/css/app.css carries those rules.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

ROOT_URLCONF = "ipamui.urls"
WSGI_APPLICATION = "ipamui.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pools.context_processors.backend",
            ],
            "loaders": [
                (
                    "template_partials.loader.Loader",
                    [
                        (
                            "django.template.loaders.cached.Loader",
                            [
                                "django.template.loaders.filesystem.Loader",
                                "django.template.loaders.app_directories.Loader",
                            ],
                        )
                    ],
                )
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}", conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes), on the app's login page and the admin's alike: after
# AXES_FAILURE_LIMIT failed logins for one username from one address, that pair is locked out
# for AXES_COOLOFF_MINUTES (another failure meanwhile starts the wait again); a successful
# login clears the count. Behind proxies, TRUSTED_PROXY_COUNT says how many of them append to
# X-Forwarded-For, so that the client's address is the one counted (ipamui.proxy).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "ipamui.proxy.client_ip"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic writes here (make serve runs it); WhiteNoise serves it, each file under a name
# with its content's hash, gzipped beside it, cached by browsers for ten years (immutable).
# With DEBUG on, WhiteNoise serves straight from the app folders instead.
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or VAR_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Everything to stderr, where gunicorn's error log, a container runtime or systemd collects it:
# every 500 with its traceback (django.request, which with DEBUG off Django would only mail to
# ADMINS), security refusals (django.security: a Host not allowed, a CSRF failure), lockouts
# (axes), the task worker's tasks, and the app's own loggers at LOG_LEVEL.
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").strip().upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(name)s] pid=%(process)d %(message)s"}
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "plain",
        }
    },
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
        "django.security": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "axes": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        # The task worker's (db_worker sets their level from its --verbosity): a task that
        # fails is logged with its traceback.
        "django_tasks": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "django_tasks_db": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "pools": {"handlers": ["stderr"], "level": LOG_LEVEL},
        "ipamsim": {"handlers": ["stderr"], "level": LOG_LEVEL},
        "awsipam": {"handlers": ["stderr"], "level": LOG_LEVEL},
    },
}

# --- AWS IPAM --------------------------------------------------------------------------------
# "embedded": the local endpoint in this process; "aws": boto3's standard configuration
# (credentials chain, AWS_ENDPOINT_URL_EC2 if set).
IPAM_BACKENDS = ("embedded", "aws")
IPAM_BACKEND = os.environ.get(
    "IPAM_BACKEND", "aws" if os.environ.get("AWS_ENDPOINT_URL_EC2") else "embedded"
)
if IPAM_BACKEND not in IPAM_BACKENDS:
    # A typo must not fall through to one or the other: "aws" would change real pools.
    raise ImproperlyConfigured(
        f"IPAM_BACKEND={IPAM_BACKEND!r} is not one of {', '.join(IPAM_BACKENDS)}: "
        "'embedded' for the local IPAM endpoint in this process, 'aws' for AWS (or the endpoint "
        "in AWS_ENDPOINT_URL_EC2)."
    )
IPAM_REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
IPAM_CONNECT_TIMEOUT = float(os.environ.get("IPAM_CONNECT_TIMEOUT", "3"))
IPAM_READ_TIMEOUT = float(os.environ.get("IPAM_READ_TIMEOUT", "20"))
IPAM_MAX_ATTEMPTS = int(os.environ.get("IPAM_MAX_ATTEMPTS", "4"))
# The longest a web request waits on AWS (its one call, retries included); work that waits
# longer runs on the task worker, which has the timeouts above.
IPAM_REQUEST_BUDGET = float(os.environ.get("IPAM_REQUEST_BUDGET", "10"))
# How long the worker follows a pool AWS is still working on, and how often it looks.
IPAM_FOLLOW_SECONDS = float(os.environ.get("IPAM_FOLLOW_SECONDS", "1800"))
IPAM_FOLLOW_INTERVAL = float(os.environ.get("IPAM_FOLLOW_INTERVAL", "2"))
# Seconds between two syncs of the whole Region on the task worker, which pick up changes made
# outside the app; 0 turns the periodic sync off.
IPAM_SYNC_INTERVAL = float(os.environ.get("IPAM_SYNC_INTERVAL", "900"))

# The change log: django-auditlog's entries, in a model with the IPAM, pool and origin as columns.
AUDITLOG_LOGENTRY_MODEL = "pools.Change"
# auditlog's migrations create its own entry table even when the model is swapped; unused, it
# would still hold a foreign key to the content types (PostgreSQL then refuses to flush them).
MIGRATION_MODULES = {"auditlog": None}


def _sync_read_rate() -> float:
    """Calls per second the sync makes of each read action: EC2 refills an account's budget
    for each non-mutating action (GetIpamPoolCidrs ...) at 20 per second by default, shared by
    all its clients; the embedded endpoint has no such budget."""
    text = os.environ.get("IPAM_SYNC_READ_RATE", "20" if IPAM_BACKEND == "aws" else "1000")
    try:
        rate = float(text)
    except ValueError:
        rate = math.nan
    if not 0 < rate < math.inf:
        raise ImproperlyConfigured(
            f"IPAM_SYNC_READ_RATE={text!r} must be a positive number of calls per second."
        )
    return rate


IPAM_SYNC_READ_RATE = _sync_read_rate()
# Concurrent fetches of the sync; 0: as many as keep to IPAM_SYNC_READ_RATE.
IPAM_SYNC_WORKERS = int(os.environ.get("IPAM_SYNC_WORKERS", "0"))

# Applying plans (planning.engine): calls in flight at once across a run's drivers; drivers
# queued per run (each worker that takes one shares the run's steps); how long a driver's
# claim on a step lasts without a heartbeat before another takes it back; the read interval
# of a step waiting for AWS; tries of a throttled or unanswered call before it fails.
IPAM_APPLY_CONCURRENCY = int(os.environ.get("IPAM_APPLY_CONCURRENCY", "8"))
IPAM_APPLY_DRIVERS = int(os.environ.get("IPAM_APPLY_DRIVERS", "2"))
IPAM_APPLY_LEASE = float(os.environ.get("IPAM_APPLY_LEASE", "30"))
IPAM_APPLY_POLL = float(os.environ.get("IPAM_APPLY_POLL", "0.5"))
IPAM_APPLY_MAX_TRIES = int(os.environ.get("IPAM_APPLY_MAX_TRIES", "12"))
# Seconds a step may wait for AWS to reach its state (create-complete, provisioned...).
IPAM_APPLY_WAIT_SECONDS = float(os.environ.get("IPAM_APPLY_WAIT_SECONDS", "1800"))
# Threads a driver sends calls on (default: the concurrency cap); 0: the driver sends each
# call itself, one at a time (tests inside a database transaction).
IPAM_APPLY_THREADS = int(os.environ.get("IPAM_APPLY_THREADS") or IPAM_APPLY_CONCURRENCY)

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
IPAM_EMBEDDED_STATE = os.environ.get("IPAM_EMBEDDED_STATE", str(VAR_DIR / "ipamsim.sqlite3"))
IPAM_EMBEDDED_SEED = env_bool("IPAM_EMBEDDED_SEED", True)
IPAM_EMBEDDED_CREATE_DELAY = float(os.environ.get("IPAM_EMBEDDED_CREATE_DELAY", "2"))
IPAM_EMBEDDED_PROVISION_DELAY = float(
    os.environ.get("IPAM_EMBEDDED_PROVISION_DELAY", IPAM_EMBEDDED_CREATE_DELAY)
)
# AWS's adjustable quotas as this account has them: the pre-flight checks and the embedded
# endpoint both use them.
IPAM_QUOTAS = {
    "ipams_per_region": int(os.environ.get("IPAM_QUOTA_IPAMS_PER_REGION", "1")),
    "scopes_per_ipam": int(os.environ.get("IPAM_QUOTA_SCOPES_PER_IPAM", "5")),
    "pools_per_scope": int(os.environ.get("IPAM_QUOTA_POOLS_PER_SCOPE", "50")),
    "cidrs_per_pool": int(os.environ.get("IPAM_QUOTA_CIDRS_PER_POOL", "50")),
}


# The JSON API (Django REST framework, schema by drf-spectacular): a token or the session
# (with CSRF), the pages' permissions, cursor pages, errors as problem details (api/problems.py).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasPermission"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Cursor",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "api.problems.handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ipamui API",
    "DESCRIPTION": (
        "Read the mirror of Amazon VPC IPAM, create and change pools, and plan and apply "
        "whole hierarchies, with the same rules and permissions as the web pages. "
        "Authenticate with `Authorization: Bearer <token>` (made on your profile page)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
