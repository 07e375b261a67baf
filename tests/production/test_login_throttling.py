"""Login throttling (django-axes): five failures for one username from one address lock that
pair out for fifteen minutes, on the app's login page and the admin's; a success clears the
count; behind proxies the client's address is the one counted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory
from django.urls import reverse

from ipamui.proxy import client_ip

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password"
CLIENT, OTHER_CLIENT = "192.0.2.10", "192.0.2.20"  # documentation addresses, never contacted
LOGIN_PAGES = ["login", "admin:login"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(django_user_model) -> Any:
    return django_user_model.objects.create_superuser("alice", "", PASSWORD)


def log_in(page: str, password: str, *, username: str = "alice", address: str = CLIENT) -> Any:
    """A fresh browser posting the login form of ``page`` from ``address``."""
    return Client(REMOTE_ADDR=address).post(
        reverse(page), {"username": username, "password": password}
    )


def logged_in(response: Any) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def fail(page: str, times: int, **kwargs: str) -> list[int]:
    """The statuses of ``times`` failed logins: the form again (200), or the lockout (429)."""
    return [log_in(page, "wrong", **kwargs).status_code for _ in range(times)]


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_five_failures_lock_out_that_username_from_that_address(user: Any, page: str) -> None:
    assert fail(page, 4) == [200] * 4
    assert logged_in(log_in(page, PASSWORD)), "four failures are not yet a lockout"

    assert fail(page, 5) == [200, 200, 200, 200, 429]
    locked = log_in(page, PASSWORD)

    assert locked.status_code == 429
    assert "_auth_user_id" not in locked.client.session
    assert logged_in(log_in(page, PASSWORD, address=OTHER_CLIENT))


def test_one_page_counts_for_the_other(user: Any) -> None:
    assert fail("login", 3) == [200] * 3
    assert fail("admin:login", 2) == [200, 429]

    assert log_in("login", PASSWORD).status_code == 429
    assert log_in("admin:login", PASSWORD).status_code == 429


def test_failures_for_other_usernames_do_not_lock_this_one(user: Any) -> None:
    assert fail("login", 5, username="mallory")[-1] == 429

    assert log_in("login", PASSWORD, username="mallory").status_code == 429
    assert logged_in(log_in("login", PASSWORD))


def test_a_success_clears_the_count(user: Any) -> None:
    assert fail("login", 4) == [200] * 4
    assert logged_in(log_in("login", PASSWORD))

    assert fail("login", 4) == [200] * 4

    assert logged_in(log_in("login", PASSWORD))


def test_the_lockout_ends_after_fifteen_minutes(user: Any) -> None:
    assert fail("login", 5)[-1] == 429
    # The last failure is fourteen minutes old: still locked.
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=14))
    assert log_in("login", PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))

    assert logged_in(log_in("login", PASSWORD))


# --- the client's address behind proxies ------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "address"),
    [
        (0, "", "10.0.0.1"),
        (0, "203.0.113.9", "10.0.0.1"),  # nobody is trusted to say so
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "198.51.100.66, 203.0.113.9", "203.0.113.9"),  # the left one is the client's claim
        (2, "198.51.100.66, 203.0.113.9, 10.1.0.5", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.1"),  # did not come through both proxies
        (1, "", "10.0.0.1"),
    ],
)
def test_the_client_address_behind_proxies(
    settings, proxies: int, forwarded_for: str, address: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", **headers)

    assert client_ip(request) == address


def test_behind_a_proxy_each_client_is_counted_apart(user: Any, settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1

    def through_the_proxy(client: str, password: str) -> Any:
        return Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=client).post(
            reverse("login"), {"username": "alice", "password": password}
        )

    for _ in range(5):
        through_the_proxy(CLIENT, "wrong")

    assert through_the_proxy(CLIENT, PASSWORD).status_code == 429
    assert logged_in(through_the_proxy(OTHER_CLIENT, PASSWORD))
