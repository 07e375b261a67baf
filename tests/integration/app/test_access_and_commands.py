"""Who may see what without logging in, and the `ensure_admin` command."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import URLPattern, reverse
from django.urls.resolvers import RoutePattern

from pools import urls as pool_urls

pytestmark = pytest.mark.django_db

PUBLIC = {"health"}


def test_health_answers_without_login(client, sim):
    sim.faults.update({"unreachable": True})  # health is about this app, not AWS

    response = client.get(reverse("health"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert client.post(reverse("health")).status_code == 405


def _url(pattern: URLPattern) -> str:
    assert isinstance(pattern.pattern, RoutePattern)
    kwargs = {name: f"x-{name}" for name in pattern.pattern.converters}
    return reverse(pattern.name, kwargs=kwargs)


APP_PAGES = [p for p in pool_urls.urlpatterns if isinstance(p, URLPattern)]


@pytest.mark.parametrize("pattern", APP_PAGES, ids=lambda p: p.name)
def test_every_page_but_health_requires_login(client, pattern):
    url = _url(pattern)
    public = getattr(pattern.callback, "login_required", True) is False

    assert public == (pattern.name in PUBLIC)
    if public:
        return
    login = reverse(settings.LOGIN_URL)
    answers = (client.get(url), client.post(url), client.get(url, headers={"HX-Request": "true"}))
    for response in answers:
        assert response.status_code == 302
        assert response["Location"].startswith(f"{login}?next=")


@pytest.mark.parametrize("url", ["/admin/", "/admin/pools/ipampool/", "/admin/auth/user/1/change/"])
def test_admin_pages_send_to_the_admins_login_page(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={url}"


def test_the_login_page_itself_is_open(client):
    assert client.get(reverse(settings.LOGIN_URL)).status_code == 200


def test_reading_needs_the_view_permission(client, django_user_model, demo):
    client.force_login(django_user_model.objects.create_user("someone"))
    assert client.get(reverse("home")).status_code == 403

    client.force_login(in_group(django_user_model.objects.create_user("viewer"), "IPAM viewers"))
    assert client.get(reverse("home")).status_code == 200


def in_group(user, name):
    user.groups.add(Group.objects.get(name=name))
    return user


@pytest.mark.parametrize(
    ("group", "may"),
    [
        ("IPAM viewers", {"view_ipampool"}),
        ("IPAM editors", {"view_ipampool", "add_ipampool", "change_ipampool"}),
        (
            "IPAM administrators",
            {"view_ipampool", "add_ipampool", "change_ipampool", "delete_ipampool", "sync_ipam"},
        ),
    ],
)
def test_the_role_groups(django_user_model, db, group, may):
    user = in_group(django_user_model.objects.create_user(f"in-{group}"), group)
    every = {"view_ipampool", "add_ipampool", "change_ipampool", "delete_ipampool", "sync_ipam"}

    assert {p for p in every if user.has_perm(f"pools.{p}")} == may


def _ensure_admin() -> str:
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


def test_ensure_admin_creates_a_superuser_once_and_shows_the_password_once():
    first = _ensure_admin()

    users = get_user_model().objects.all()
    assert users.count() == 1
    admin = users.get()
    assert (admin.is_superuser, admin.is_staff, admin.is_active) == (True, True, True)
    password = re.search(r"password: (\S+)", first)[1]
    assert admin.check_password(password)
    assert first.count(password) == 1

    second = _ensure_admin()

    assert second == ""
    assert get_user_model().objects.count() == 1
    admin.refresh_from_db()
    assert admin.check_password(password)


def test_ensure_admin_leaves_an_existing_superuser_alone(django_user_model):
    django_user_model.objects.create_superuser("root", "", "secret")

    assert _ensure_admin() == ""
    assert list(django_user_model.objects.values_list("username", flat=True)) == ["root"]


def test_ensure_admin_never_promotes_an_ordinary_user_called_admin(django_user_model):
    django_user_model.objects.create_user("admin", "", "theirs")
    django_user_model.objects.create_user("admin2", "", "theirs too")

    output = _ensure_admin()

    assert "username: admin3" in output
    assert not django_user_model.objects.get(username="admin").is_superuser
    assert django_user_model.objects.get(username="admin3").is_superuser


def test_ensure_admin_passwords_differ_between_databases(django_user_model):
    first = re.search(r"password: (\S+)", _ensure_admin())[1]
    django_user_model.objects.all().delete()
    second = re.search(r"password: (\S+)", _ensure_admin())[1]

    assert first != second
    assert len(second) >= 12
