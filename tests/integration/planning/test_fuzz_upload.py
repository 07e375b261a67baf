"""Hostile uploads and exports: no answer is a 5xx, a GET writes nothing, and a refused upload
writes nothing (no plan, no node, no ledger row).

Documents: the hostile values of the app's fuzz tests, YAML bombs and aliases, nesting far past
any plan's, numbers of thousands of digits, 10 kB strings, and good documents with one value
made hostile; files of random bytes. Sent as an anonymous visitor, an IPAM viewer and an IPAM
editor, on whichever database the suite runs on (SQLite, or PostgreSQL with DATABASE_URL).
"""

from __future__ import annotations

import copy
import json
import re

import pytest
import yaml
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from netaddr import IPNetwork

from planning import formats, selectors
from planning.models import Plan, PlanNode
from planning.spec import Intent
from pools.models import IpamScope, Reservation
from tests.integration.app.conftest import shared_service_models
from tests.integration.app.test_fuzz import HOSTILE_TEXT, ROLES

from .conftest import node

shared_service_models = shared_service_models  # botocore's model read once, as in the app's
WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


@pytest.fixture
def clients(demo, django_user_model) -> dict[str, Client]:
    made = {"anonymous": Client()}
    for role, group in (("viewer", "IPAM viewers"), ("editor", "IPAM editors")):
        user = django_user_model.objects.create_user(role)
        user.groups.add(Group.objects.get(name=group))
        made[role] = Client()
        made[role].force_login(user)
    return made


@pytest.fixture
def plan(make_plan) -> Plan:
    return make_plan(
        "fuzzed",
        nodes=[
            node("top", prefix_length=13),
            node("east", parent="top", prefix_length=16, locale="us-east-1"),
            node("pin", parent="top", intent=Intent.CIDR, cidr=IPNetwork("172.20.0.0/16")),
        ],
    )


def created(response) -> bool:
    """The upload was taken: a redirect to a plan's page (not to the login page)."""
    return response.status_code == 302 and response["Location"].startswith("/plans/")


def state() -> tuple:
    return (
        sorted(Plan.objects.values_list("pk", "name", "version", "findings")),
        sorted(PlanNode.objects.values_list("pk", "plan_id", "key", "name", "cidr", "tags")),
        sorted(Reservation.objects.values_list("pk", "cidr")),
    )


# --- hostile documents ----------------------------------------------------------------------------

BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
)
HOSTILE_VALUE = st.one_of(
    HOSTILE_TEXT,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([None, True, 1.5, float("inf"), [], {}, [[[[[]]]]], {"a": {"b": {}}}]),
    st.just(10**4000),
)
PATHS = [
    ("name",),
    ("description",),
    ("address_family",),
    ("scope_id",),
    ("ipam_id",),
    ("parent_pool_id",),
    ("space",),
    ("schema_version",),
    ("nodes",),
    ("nodes", 0, "id"),
    ("nodes", 1, "parent"),
    ("nodes", 1, "name"),
    ("nodes", 1, "locale"),
    ("nodes", 1, "intent"),
    ("nodes", 1, "intent", "prefix_length"),
    ("nodes", 0, "intent", "cidr"),
    ("nodes", 1, "cidr"),
    ("nodes", 1, "spare_slots"),
    ("nodes", 1, "allocation", "min"),
    ("nodes", 1, "tags"),
    ("nodes", 1, "pool_id"),
    ("nodes", 1, "description"),
]


def good_document(scope_id: str, name: str) -> dict:
    spec = selectors.plan_spec(Plan.objects.get(name="fuzzed"))
    document = formats.to_document(spec)
    document.update(name=name, scope_id=scope_id)
    return document


@st.composite
def documents(draw) -> tuple[str, dict | None]:
    """(text, the changes made to a good document, or None for a document of its own)."""
    kind = draw(st.sampled_from(["hostile", "edited", "csv", "deep", "bomb", "big"]))
    if kind == "hostile":
        return draw(HOSTILE_TEXT), None
    if kind == "deep":
        depth = draw(st.integers(20, 3000))
        opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ('{"a": ', "}")]))
        return opener * depth + closer * depth, None
    if kind == "bomb":
        return BOMB + draw(st.sampled_from(["", "\nnodes: *i\n"])), None
    if kind == "big":
        return "name: " + "9" * draw(st.integers(4000, 6000)) + "\n", None
    if kind == "csv":
        cells = st.lists(HOSTILE_TEXT, min_size=1, max_size=4)
        rows = draw(st.lists(cells, max_size=4))
        header = draw(st.sampled_from(["name,parent,cidr", "id,name,parent,cidr,prefix_length"]))
        return header + "\n" + "\n".join(",".join(r) for r in rows), None
    edits = draw(st.lists(st.tuples(st.sampled_from(PATHS), HOSTILE_VALUE), min_size=1, max_size=3))
    return "", {"edits": edits, "as": draw(st.sampled_from(["yaml", "json"]))}


def render(scope_id: str, name: str, edits: dict) -> str:
    document = copy.deepcopy(good_document(scope_id, name))
    for path, value in edits["edits"]:
        target = document
        try:
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    if edits["as"] == "json":
        return json.dumps(document, default=str)
    return yaml.safe_dump(document, allow_unicode=True)


UPLOAD_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "format": st.one_of(st.sampled_from(["", "yaml", "json", "csv"]), HOSTILE_TEXT),
        "name": HOSTILE_TEXT,
        "scope": st.one_of(st.sampled_from(["scope", "other"]), HOSTILE_TEXT),
        "address_family": st.one_of(st.sampled_from(["", "ipv4", "ipv6"]), HOSTILE_TEXT),
        "space": HOSTILE_TEXT,
        "check": st.sampled_from(["", "1"]),
    },
)


def fill(fields: dict, scope: IpamScope) -> dict:
    other = IpamScope.objects.exclude(pk=scope.pk).first()
    ids = {"scope": scope.scope_id, "other": other.scope_id if other else "x"}
    return {k: ids.get(v, v) if k == "scope" else v for k, v in fields.items()}


@given(
    role=st.sampled_from(ROLES),
    document=documents(),
    fields=UPLOAD_FIELDS,
    name=st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=12),
    as_file=st.booleans(),
)
def test_an_upload_never_fails_and_a_refused_one_writes_nothing(
    clients, plan, private_scope, role, document, fields, name, as_file
):
    text, edits = document
    if edits is not None:
        text = render(private_scope.scope_id, f"fuzz {name}", edits)
    data = fill(fields, private_scope)
    if as_file:
        data["file"] = SimpleUploadedFile("upload.txt", text.encode("utf-8", "surrogatepass"))
    else:
        data["text"] = text
    before = state()

    response = clients[role].post(reverse("plan_upload"), data)

    assert response.status_code < 500
    if not created(response):
        assert state() == before, "a refused upload wrote"


@given(role=st.sampled_from(ROLES), data=st.binary(max_size=2000), filename=HOSTILE_TEXT)
def test_a_file_of_any_bytes_never_fails(clients, plan, private_scope, role, data, filename):
    before = state()
    upload = SimpleUploadedFile(filename[:200] or "f", data)
    response = clients[role].post(
        reverse("plan_upload"), {"file": upload, "scope": private_scope.scope_id}
    )
    assert response.status_code < 500
    if not created(response):
        assert state() == before


@given(role=st.sampled_from(ROLES), document=documents(), check=st.sampled_from(["", "1"]))
def test_an_upload_into_a_plan_never_fails_and_a_refused_one_writes_nothing(
    clients, plan, private_scope, role, document, check
):
    text, edits = document
    if edits is not None:
        text = render(private_scope.scope_id, "x", edits)
    before = state()

    response = clients[role].post(
        reverse("plan_import", args=[plan.pk]), {"text": text, "check": check}
    )

    assert response.status_code < 500
    if not created(response):
        assert state() == before, "a refused upload into a plan wrote"


@given(
    role=st.sampled_from(ROLES),
    fmt=st.one_of(st.sampled_from(["yaml", "json", "tf", "csv"]), HOSTILE_TEXT),
    plan_id=st.one_of(st.none(), st.integers(-5, 10**6)),
    query=st.lists(st.tuples(st.sampled_from(["fmt", "v", "q"]), HOSTILE_TEXT), max_size=3),
)
def test_exports_and_the_schema_answer_and_write_nothing(clients, plan, role, fmt, plan_id, query):
    pk = plan.pk if plan_id is None else plan_id
    urls = [f"/plans/{pk}/export.{fmt}", f"/plans/schema/v{fmt}.json", "/plans/schema/v1.json"]
    before = state()
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            try:
                response = clients[role].get(url, query)
            except ValueError:  # a URL the test client itself cannot send
                continue
        assert response.status_code < 500, url
        assert not [q["sql"] for q in queries if WRITE.match(q["sql"])], "a GET wrote"
    for url in (reverse("plan_upload"), reverse("plan_import", args=[plan.pk])):
        assert clients[role].get(url, query).status_code < 500
    assert state() == before
