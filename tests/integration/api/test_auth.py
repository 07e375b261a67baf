"""Who the API acts as: a token's user (on the change log too), or the session's, with CSRF."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.test import Client

from pools.models import AwsCall, Change
from tests.integration.api.conftest import problem


def _body(scope) -> dict:
    return {"scope": scope.scope_id, "address_family": "ipv4", "first_cidr": "172.30.0.0/16"}


def test_a_change_made_with_a_token_is_put_on_its_user(editor, private_scope):
    answer = editor.post("/api/pools/", _body(private_scope))
    assert answer.status_code == 201, answer.content
    pool_id = answer.json()["pool_id"]
    call = AwsCall.objects.get(action="CreateIpamPool", pool_aws_id=pool_id)
    assert call.user == editor.user
    assert Change.objects.filter(pool_aws_id=pool_id, actor=editor.user).exists()


def test_a_token_on_a_page_is_not_a_login(editor):
    """Tokens open the API only: a page asked with one still sends to the login page."""
    answer = editor.client.get("/", HTTP_AUTHORIZATION=f"Bearer {editor.token}")
    assert answer.status_code == 302
    assert "/accounts/login/" in answer["Location"]


def _session(django_user_model, group: str) -> Client:
    user = django_user_model.objects.create_user("browser", password="x")
    user.groups.add(Group.objects.get(name=group))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_the_session_reads_and_writes_with_the_csrf_token(django_user_model, private_scope):
    client = _session(django_user_model, "IPAM editors")
    assert client.get("/api/pools/").status_code == 200
    refused = client.post("/api/pools/", _body(private_scope), content_type="application/json")
    assert problem(refused, 403)["code"] == "permission_denied"
    assert not AwsCall.objects.filter(action="CreateIpamPool").exists()
    client.get("/plans/")  # any page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    made = client.post(
        "/api/pools/", _body(private_scope), content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert made.status_code == 201, made.content


def test_no_credentials_and_a_wrong_scheme_are_401_with_the_scheme_to_use(demo, client):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Basic YTpi"}):
        answer = client.get("/api/pools/", **headers)
        assert problem(answer, 401)["code"] == "not_authenticated"
        assert answer["WWW-Authenticate"].startswith("Bearer")
    for token in ("ipamui_nope", "x" * 5000, "ipamui_\x7f²"):
        answer = client.get("/api/pools/", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert problem(answer, 401)["code"] == "token_invalid"


def test_a_nul_in_the_query_is_a_problem_not_a_page(editor):
    assert problem(editor.get("/api/pools/?q=a%00b"), 400)["code"] == "nul"


def test_an_unknown_address_is_a_problem(editor):
    assert problem(editor.get("/api/nothing-here/"), 404)["code"] == "not_found"


def test_the_root_says_where_everything_is(viewer, api_as, client):
    links = viewer.get("/api/").json()
    assert set(links) >= {"schema", "docs", "pools", "plans", "changes"}
    for name in ("schema", "pools", "plans", "changes", "ipams", "scopes"):
        assert viewer.get(links[name]).status_code == 200, name
    assert problem(api_as("nobody").get("/api/"), 403)["code"] == "permission_denied"
    assert problem(client.get("/api/"), 401)["code"] == "not_authenticated"
