"""The API's tests: callers with tokens, by role, against the demo IPAM."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from api.models import ApiToken
from pools.models import IpamScope

ROLES = {
    "viewer": "IPAM viewers",
    "editor": "IPAM editors",
    "admin": "IPAM administrators",
    "nobody": "",
}


class Api:
    """A caller of the API with a token: ``get``, ``post``, ``patch``, ``put``, ``delete``
    with JSON bodies; each answer's JSON is ``answer.json()``."""

    def __init__(self, client: Client, token: str, user: Any) -> None:
        self.client, self.token, self.user = client, token, user

    def _call(self, method: str, path: str, body: Any = None, **headers: Any) -> Any:
        extra = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        extra |= {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        call = getattr(self.client, method)
        if method in ("get", "head"):
            return call(path, body or {}, **extra)
        data = json.dumps(body) if body is not None else ""
        return call(path, data, content_type="application/json", **extra)

    def get(self, path: str, params: Any = None, **headers: Any) -> Any:
        return self._call("get", path, params, **headers)

    def post(self, path: str, body: Any = None, **headers: Any) -> Any:
        return self._call("post", path, body, **headers)

    def patch(self, path: str, body: Any = None, **headers: Any) -> Any:
        return self._call("patch", path, body, **headers)

    def put(self, path: str, body: Any = None, **headers: Any) -> Any:
        return self._call("put", path, body, **headers)

    def delete(self, path: str, body: Any = None, **headers: Any) -> Any:
        return self._call("delete", path, body, **headers)


@pytest.fixture
def api_as(django_user_model: Any, demo: Any) -> Callable[[str], Api]:
    """``api_as("editor")``: a caller whose token's user is in that role's group."""
    made: dict[str, Api] = {}

    def caller(role: str) -> Api:
        if role not in made:
            user = django_user_model.objects.create_user(f"api-{role}", password="x")
            if ROLES[role]:
                user.groups.add(Group.objects.get(name=ROLES[role]))
            _, token = ApiToken.issue(user=user, name=f"{role}'s token")
            made[role] = Api(Client(), token, user)
        return made[role]

    return caller


@pytest.fixture
def viewer(api_as) -> Api:
    return api_as("viewer")


@pytest.fixture
def editor(api_as) -> Api:
    return api_as("editor")


@pytest.fixture
def admin(api_as) -> Api:
    return api_as("admin")


@pytest.fixture
def count_answers(sim: Any) -> None:
    """``sim.answered``: how many requests the local endpoint has answered since."""
    sim.answered = 0
    handle = sim.handle

    def counted(*args: Any) -> Any:
        sim.answered += 1
        return handle(*args)

    sim.handle = counted


@pytest.fixture
def private_scope(demo) -> IpamScope:
    return IpamScope.objects.get(scope_type="private", is_default=True)


def problem(answer: Any, status: int) -> dict[str, Any]:
    """The problem details of ``answer``, which must have ``status``."""
    assert answer.status_code == status, answer.content[:2000]
    assert answer["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "instance", "code", "field", "errors"} <= set(body)
    return body


def codes(body: dict[str, Any]) -> dict[str | None, str]:
    """Each error's field and its code."""
    return {e["field"]: e["code"] for e in body["errors"]}
