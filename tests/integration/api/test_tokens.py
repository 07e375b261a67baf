"""API tokens: the profile page (list, make, revoke, each user only their own), the admin, and
what the API does with a revoked, expired or powerless token."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from api.models import SHOWN_CHARACTERS, ApiToken, digest
from tests.integration.api.conftest import problem

pytestmark = pytest.mark.django_db

PAGE = "/profile/tokens/"
POOLS = "/api/pools/"
TOKEN = re.compile(r"ipamui_[A-Za-z0-9_-]{43}")


def revoke_url(row: ApiToken) -> str:
    return reverse("profile_token_revoke", args=[row.pk])


@pytest.fixture
def alice(django_user_model) -> Any:
    return django_user_model.objects.create_user("alice", password="x")


@pytest.fixture
def browser(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def make(client: Client, name: str = "ci", expiry: str = "90", **headers: Any) -> Any:
    return client.post(PAGE, {"name": name, "expiry": expiry}, **headers)


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# --- the profile page ---------------------------------------------------------------------


def test_the_page_needs_a_login() -> None:
    answer = Client().get(PAGE)
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("login"))
    assert Client().post(revoke_url(ApiToken(pk=1))).status_code == 302


def test_a_user_without_any_group_makes_a_token_shown_once(browser, alice) -> None:
    answer = make(browser, "deploy script", "30")
    assert answer.status_code == 200
    page = answer.content.decode()
    tokens = set(TOKEN.findall(page))
    assert len(tokens) == 1
    token = tokens.pop()
    assert "no-store" in answer["Cache-Control"]
    row = ApiToken.objects.get(user=alice)
    assert row.name == "deploy script"
    assert row.digest == digest(token)
    assert token not in {row.digest, row.shown}
    assert row.shown == token[:SHOWN_CHARACTERS]
    assert timezone.now() + dt.timedelta(days=29) < row.expires_at
    assert row.expires_at < timezone.now() + dt.timedelta(days=31)
    assert f"Authorization: Bearer {token}" in page
    assert reverse("api:docs") in page

    again = browser.get(PAGE).content.decode()  # listed, never shown again
    assert token not in again
    assert not TOKEN.findall(again)
    assert row.shown in again
    assert "deploy script" in again
    assert ApiToken.find(token) == row


def test_never_expires(browser, alice) -> None:
    make(browser, "forever", "never")
    assert ApiToken.objects.get(user=alice).expires_at is None


def test_htmx_gets_the_tokens_part(browser, alice) -> None:
    answer = make(browser, "htmx", "365", HTTP_HX_REQUEST="true")
    part = answer.content.decode()
    assert answer.status_code == 200
    assert "<html" not in part
    assert part.lstrip().startswith('<div id="tokens">')
    assert len(set(TOKEN.findall(part))) == 1
    row = ApiToken.objects.get(user=alice)
    answer = browser.post(revoke_url(row), HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    assert 'id="token-revoked"' in answer.content.decode()
    assert not ApiToken.objects.exists()


def test_the_list_shows_only_ones_own_tokens_and_whether_expired(
    browser, alice, django_user_model
) -> None:
    bob = django_user_model.objects.create_user("bob")
    ApiToken.issue(user=bob, name="bob's secret")
    past = timezone.now() - dt.timedelta(days=1)
    ApiToken.issue(user=alice, name="old one", expires_at=past)
    ApiToken.issue(user=alice, name="current")
    page = browser.get(PAGE).content.decode()
    assert "bob&#x27;s secret" not in page
    assert "bob's secret" not in page
    assert "old one" in page
    assert "current" in page
    assert page.count('class="badge expired"') == 1


def test_the_list_costs_the_same_queries_for_any_number_of_tokens(
    browser, alice, django_assert_max_num_queries
) -> None:
    ApiToken.issue(user=alice, name="one")
    with django_assert_max_num_queries(20) as few:
        browser.get(PAGE)
    for number in range(50):
        ApiToken.issue(user=alice, name=f"token {number}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        answer = browser.get(PAGE)
    assert answer.content.decode().count("data-token=") == 51


def test_revoking_ones_own_token(browser, alice) -> None:
    row, token = ApiToken.issue(user=alice, name="to go")
    assert browser.get(revoke_url(row)).status_code == 405  # a GET changes nothing
    assert ApiToken.objects.filter(pk=row.pk).exists()
    answer = browser.post(revoke_url(row))
    assert answer.status_code == 302
    assert answer["Location"] == PAGE
    assert not ApiToken.objects.filter(pk=row.pk).exists()
    assert "Revoked the token" in browser.get(PAGE).content.decode()
    assert Client().get(POOLS, **bearer(token)).status_code == 401


def test_another_users_token_is_not_found(browser, django_user_model) -> None:
    bob = django_user_model.objects.create_user("bob")
    row, _ = ApiToken.issue(user=bob, name="bob's")
    assert browser.post(revoke_url(row)).status_code == 404
    assert browser.post(reverse("profile_token_revoke", args=[10**9])).status_code == 404
    assert browser.post("/profile/tokens/99999999999999999999999/revoke/").status_code == 404
    assert ApiToken.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"name": "", "expiry": "30"}, "name", "required"),
        ({"name": "x" * 101, "expiry": "30"}, "name", "max_length"),
        ({"name": "a\x00b", "expiry": "30"}, "name", "null_characters_not_allowed"),
        ({"name": "a\x1bb", "expiry": "30"}, "name", "name_control_character"),
        ({"name": "ok", "expiry": "7"}, "expiry", "invalid_choice"),
        ({"name": "ok"}, "expiry", "required"),
    ],
)
def test_bad_input_is_refused_on_its_field(browser, data, field, code) -> None:
    answer = browser.post(PAGE, data)
    assert answer.status_code == 200
    assert answer.context["form"].errors.as_data()[field][0].code == code
    assert f'id="id_{field}_error"' in answer.content.decode()
    assert not TOKEN.findall(answer.content.decode())
    assert not ApiToken.objects.exists()


HOSTILE = st.one_of(
    st.text(max_size=120),
    st.sampled_from(["\x00", "a\x00b", "\x01\x0b\x1f", "\u2028", "²", "9" * 5000, "x" * 10_000]),
)


@given(name=HOSTILE, expiry=st.one_of(HOSTILE, st.sampled_from(["30", "never"])))
def test_hostile_input_never_fails(browser, alice, name: str, expiry: str) -> None:
    before = ApiToken.objects.count()
    answer = make(browser, name, expiry)
    assert answer.status_code == 200
    form = answer.context["form"]
    made = ApiToken.objects.count() - before
    if TOKEN.search(answer.content.decode()):
        assert made == 1
        row = ApiToken.objects.filter(user=alice).first()
        assert row.name == name.strip()
        assert row.name.isprintable()
    else:
        assert made == 0
        assert form.errors
    answer = browser.post(f"/profile/tokens/{name[:30]!s}/revoke/".replace("\x00", ""))
    assert answer.status_code in (404, 405)
    assert ApiToken.objects.count() == before + made


# --- the API with tokens --------------------------------------------------------------------


def test_an_expired_token_is_refused(alice) -> None:
    past = timezone.now() - dt.timedelta(seconds=1)
    _, token = ApiToken.issue(user=alice, name="expired", expires_at=past)
    body = problem(Client().get(POOLS, **bearer(token)), 401)
    assert body["code"] == "token_invalid"


def test_an_inactive_users_token_is_refused(alice) -> None:
    alice.groups.add(Group.objects.get(name="IPAM viewers"))
    _, token = ApiToken.issue(user=alice, name="soon inactive")
    assert Client().get(POOLS, **bearer(token)).status_code == 200
    alice.is_active = False
    alice.save()
    problem(Client().get(POOLS, **bearer(token)), 401)


@pytest.mark.parametrize("token", ["ipamui_nope", "nope", "ipamui_" + "x" * 300, "ipamui_é"])
def test_an_unknown_token_is_refused(db, token) -> None:
    problem(Client().get(POOLS, **bearer(token)), 401)


def test_a_viewers_token_reads_but_does_not_create(viewer, private_scope) -> None:
    assert viewer.get(POOLS).status_code == 200
    body = problem(viewer.post(POOLS, {"scope": private_scope.scope_id}), 403)
    assert body["code"]


def test_a_token_made_on_the_page_works_and_stops_when_revoked(browser, alice) -> None:
    alice.groups.add(Group.objects.get(name="IPAM viewers"))
    token = TOKEN.search(make(browser, "page").content.decode()).group()
    api = Client()  # no session: the token alone
    assert api.get(POOLS, **bearer(token)).status_code == 200
    browser.post(revoke_url(ApiToken.objects.get(user=alice)))
    problem(api.get(POOLS, **bearer(token)), 401)


# --- the admin ------------------------------------------------------------------------------


@pytest.fixture
def admin_client_(django_user_model) -> Client:
    root = django_user_model.objects.create_superuser("root", "", "x")
    client = Client()
    client.force_login(root)
    return client


def test_the_admin_lists_searches_and_filters(admin_client_, alice, django_user_model) -> None:
    bob = django_user_model.objects.create_user("bob")
    ApiToken.issue(user=alice, name="alice ci")
    ApiToken.issue(user=bob, name="bob laptop", expires_at=timezone.now() - dt.timedelta(days=1))
    url = reverse("admin:api_apitoken_changelist")
    page = admin_client_.get(url).content.decode()
    assert "alice ci" in page
    assert "bob laptop" in page
    found = admin_client_.get(url, {"q": "laptop"}).content.decode()
    assert "bob laptop" in found
    assert "alice ci" not in found
    expired = admin_client_.get(url, {"expired": "yes"}).content.decode()
    assert "bob laptop" in expired
    assert "alice ci" not in expired
    usable = admin_client_.get(url, {"expired": "no"}).content.decode()
    assert "alice ci" in usable
    assert "bob laptop" not in usable
    assert admin_client_.get(url, {"q": "\x00"}).status_code == 400


def test_the_admin_makes_a_token_and_shows_it_once(admin_client_, alice) -> None:
    answer = admin_client_.post(
        reverse("admin:api_apitoken_add"), {"user": alice.pk, "name": "from admin"}
    )
    assert answer.status_code == 200, answer.content[:1000]
    tokens = set(TOKEN.findall(answer.content.decode()))
    assert len(tokens) == 1
    token = tokens.pop()
    row = ApiToken.objects.get()
    assert (row.user, row.name, row.expires_at) == (alice, "from admin", None)
    assert row.digest == digest(token)
    assert ApiToken.find(token) == row
    change = admin_client_.get(reverse("admin:api_apitoken_change", args=[row.pk]))
    assert change.status_code == 200
    assert token not in change.content.decode()
    assert row.shown in change.content.decode()
    listed = admin_client_.get(reverse("admin:api_apitoken_changelist")).content.decode()
    assert token not in listed


def test_the_admin_revokes(admin_client_, alice) -> None:
    row, token = ApiToken.issue(user=alice, name="revoke me")
    url = reverse("admin:api_apitoken_delete", args=[row.pk])
    assert admin_client_.post(url, {"post": "yes"}).status_code == 302
    assert not ApiToken.objects.exists()
    problem(Client().get(POOLS, **bearer(token)), 401)


def test_staff_without_the_permission_sees_no_tokens(django_user_model, alice) -> None:
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    client = Client()
    client.force_login(staff)
    ApiToken.issue(user=alice, name="hidden")
    assert client.get(reverse("admin:api_apitoken_changelist")).status_code == 403
