"""Production settings: Django's deployment checklist passes, HTTPS is the default with DEBUG
off, and what a proxy or load balancer needs can be set from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.production.support import clean_environment, manage, read_settings

HTTPS_SETTINGS = (
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER",
    "CSRF_TRUSTED_ORIGINS",
)


def test_the_deployment_checklist_passes_with_debug_off(tmp_path: Path) -> None:
    done = manage(clean_environment(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout


def test_https_is_the_default_in_production(tmp_path: Path) -> None:
    production = read_settings(clean_environment(tmp_path), *HTTPS_SETTINGS)

    assert production["DEBUG"] is False
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production["SECURE_HSTS_PRELOAD"] is False
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["SECURE_PROXY_SSL_HEADER"] is None


def test_development_needs_no_https_and_no_environment(tmp_path: Path) -> None:
    env = clean_environment(tmp_path, DEBUG="true")
    del env["SECRET_KEY"]

    development = read_settings(env, *HTTPS_SETTINGS)

    assert development["DEBUG"] is True
    assert development["SECURE_SSL_REDIRECT"] is False
    assert development["SECURE_HSTS_SECONDS"] == 0
    assert development["SESSION_COOKIE_SECURE"] is False
    assert development["CSRF_COOKIE_SECURE"] is False


def test_a_proxy_setup_from_the_environment(tmp_path: Path) -> None:
    env = clean_environment(
        tmp_path,
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO, https",
        CSRF_TRUSTED_ORIGINS="https://ipam.example.com,https://ipam2.example.com",
        SECURE_HSTS_SECONDS="600",
        SECURE_SSL_REDIRECT="false",
    )

    behind_a_proxy = read_settings(env, *HTTPS_SETTINGS)

    assert behind_a_proxy["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert behind_a_proxy["CSRF_TRUSTED_ORIGINS"] == [
        "https://ipam.example.com",
        "https://ipam2.example.com",
    ]
    assert behind_a_proxy["SECURE_HSTS_SECONDS"] == 600
    assert behind_a_proxy["SECURE_SSL_REDIRECT"] is False


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
        ({"IPAM_BACKEND": "real-aws"}, "IPAM_BACKEND='real-aws' is not one of"),
        ({"SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"}, "SECURE_PROXY_SSL_HEADER="),
    ],
    ids=["no-secret-key", "unknown-backend", "malformed-proxy-header"],
)
def test_settings_that_make_no_sense_stop_the_start(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    assert says in read_settings(clean_environment(tmp_path, **env), "DEBUG")["refused"]


def test_a_server_refuses_to_start_with_the_reason(tmp_path: Path) -> None:
    env = clean_environment(tmp_path, IPAM_BACKEND="AWS ")

    done = manage(env, "check")

    assert done.returncode != 0
    assert "ImproperlyConfigured: IPAM_BACKEND='AWS '" in done.stderr


# --- what the HTTPS settings do, in this process (the suite's settings turn them off) --------


@pytest.fixture
def https_on(settings) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True


@pytest.mark.django_db
@pytest.mark.usefixtures("https_on")
def test_plain_http_is_sent_to_https_but_the_health_check(client: Client) -> None:
    page = client.get(reverse("home"))
    health = client.get(reverse("health"))

    assert page.status_code == 301
    assert page["Location"] == "https://testserver/"
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}


@pytest.mark.django_db
@pytest.mark.usefixtures("https_on")
def test_https_answers_carry_hsts_and_the_other_security_headers(client: Client) -> None:
    response = client.get(reverse("login"), secure=True)

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
@pytest.mark.usefixtures("https_on")
def test_a_proxy_header_makes_a_request_secure(client: Client, settings) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    through_the_proxy = client.get(reverse("login"), headers={"X-Forwarded-Proto": "https"})
    around_it = client.get(reverse("login"))

    assert through_the_proxy.status_code == 200
    assert "Strict-Transport-Security" in through_the_proxy
    assert around_it.status_code == 301
