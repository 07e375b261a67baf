"""The plans API: reading plans, their nodes, findings, diff; creating and changing them with
the pages' forms and services; who may do what; and refusals with their codes."""

from __future__ import annotations

import pytest
from django.db import reset_queries
from django.test import Client
from netaddr import IPNetwork

from planning.models import ApplyRun, Plan, PlanNode
from pools.models import IpamPool, Reservation
from tests.integration.planning import conftest as planning
from tests.integration.planning.conftest import node

from .conftest import codes, problem

make_plan = planning.make_plan  # the planning tests' fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(make_plan) -> Plan:
    return make_plan(
        "small",
        nodes=[
            node("top", "top", prefix_length=16, locale="us-east-1"),
            node("kid", "kid", "top", prefix_length=20, tags=(("team", "web"),)),
        ],
    )


def url(plan: Plan | int, *rest: str) -> str:
    pk = plan.pk if isinstance(plan, Plan) else plan
    return "/api/plans/" + "".join(f"{p}/" for p in (pk, *rest))


def state() -> tuple:
    """What a refused request must leave as it was."""
    return (
        sorted(Plan.objects.values_list("pk", "name", "version", "status", "description")),
        sorted(PlanNode.objects.values_list("plan_id", "key", "name", "parent_id", "cidr")),
        sorted(ApplyRun.objects.values_list("pk", "status")),
        Reservation.objects.count(),
    )


# --- reading ----------------------------------------------------------------------------


def test_the_list_and_a_plan(viewer, plan):
    answer = viewer.get("/api/plans/")
    assert answer.status_code == 200, answer.content
    item = answer.json()["results"][0]
    assert item["id"] == plan.pk
    assert item["node_count"] == 2
    assert item["status"] == "draft"
    assert item["validated"] is True
    assert item["scope_id"] == plan.scope.scope_id

    one = viewer.get(url(plan)).json()
    assert one["version"] == plan.version
    assert one["stale"] is False
    assert one["drift_count"] == 0
    assert one["latest_run"] is None
    assert one["space"] == ["172.16.0.0/12"]


def test_the_list_filters(viewer, plan, make_plan, private_scope):
    make_plan("other")
    ipam = private_scope.ipam.ipam_id
    assert len(viewer.get("/api/plans/", {"ipam": ipam}).json()["results"]) == 2
    assert viewer.get("/api/plans/", {"ipam": "ipam-0000000000"}).json()["results"] == []
    assert viewer.get("/api/plans/", {"ipam": "²"}).json()["results"] == []
    problem(viewer.get("/api/plans/", {"ipam": "a\x00b"}), 400)
    assert len(viewer.get("/api/plans/", {"status": "draft"}).json()["results"]) == 2
    assert viewer.get("/api/plans/", {"status": "applying"}).json()["results"] == []
    assert codes(problem(viewer.get("/api/plans/", {"status": "nope"}), 400)) == {
        "status": "invalid_choice"
    }


def test_the_list_costs_the_same_for_more_plans(viewer, make_plan, django_assert_max_num_queries):
    make_plan("p0", space="10.0.0.0/16")
    reset_queries()  # a full query log would show none
    with django_assert_max_num_queries(20) as few:
        viewer.get("/api/plans/")
    budget = len(few.captured_queries)
    for i in range(1, 8):
        make_plan(f"p{i}", space=f"10.{i}.0.0/16")
    reset_queries()  # a full query log would show none
    with django_assert_max_num_queries(budget):
        answer = viewer.get("/api/plans/")
    assert len(answer.json()["results"]) == 8


def test_cursor_pages(viewer, make_plan):
    for i in range(3):
        make_plan(f"p{i}", space=f"10.{i}.0.0/16")
    first = viewer.get("/api/plans/", {"page_size": 2}).json()
    assert len(first["results"]) == 2
    assert first["next"]
    second = Client().get(first["next"], HTTP_AUTHORIZATION=f"Bearer {viewer.token}").json()
    assert len(second["results"]) == 1


def test_nodes(viewer, plan):
    answer = viewer.get(url(plan, "nodes"))
    assert answer.status_code == 200
    nodes = {n["key"]: n for n in answer.json()["results"]}
    assert nodes["top"]["depth"] == 1
    assert nodes["top"]["parent"] is None
    assert nodes["top"]["intent"] == "length"
    assert nodes["top"]["prefix_length"] == 16
    assert nodes["top"]["locale"] == "us-east-1"
    assert IPNetwork(nodes["top"]["cidr"]).prefixlen == 16  # what the packer gave
    assert nodes["kid"]["parent"] == "top"
    assert nodes["kid"]["depth"] == 2
    assert nodes["kid"]["tags"] == {"team": "web"}
    assert nodes["kid"]["pool_id"] is None
    assert viewer.get(url(plan, "nodes", "kid")).json()["key"] == "kid"


def test_nodes_cost_the_same_for_more_nodes(viewer, make_plan, django_assert_max_num_queries):
    small = make_plan("small", nodes=[node("a", prefix_length=20)])
    many = make_plan(
        "many",
        space="10.0.0.0/8",
        nodes=[node("top", prefix_length=12)]
        + [node(f"n{i}", parent="top", prefix_length=24) for i in range(40)],
    )
    reset_queries()  # a full query log would show none
    with django_assert_max_num_queries(20) as few:
        viewer.get(url(small, "nodes"))
    budget = len(few.captured_queries)
    reset_queries()  # a full query log would show none
    with django_assert_max_num_queries(budget):
        answer = viewer.get(url(many, "nodes"), {"page_size": 1000})
    assert len(answer.json()["results"]) == 41


def test_findings(viewer, make_plan):
    pinned = {"cidr": IPNetwork("172.16.0.0/16"), "intent": "cidr"}
    plan = make_plan("clash", nodes=[node("a", "a", **pinned), node("b", "b", **pinned)])
    body = viewer.get(url(plan, "findings")).json()
    assert body["error_count"] >= 1
    found = {(f["code"], f["node"]) for f in body["findings"]}
    assert ("node_overlaps_sibling", "a") in found or ("node_overlaps_sibling", "b") in found
    assert all(f["severity"] in ("error", "warning") for f in body["findings"])
    assert {f["node_name"] for f in body["findings"] if f["node"]} <= {"a", "b"}


def test_diff(viewer, plan):
    body = viewer.get(url(plan, "diff")).json()
    assert body["applicable"] is True
    assert body["counts"]["create"] == 2
    assert body["counts"]["blocked"] == 0
    actions = [s["action"] for s in body["steps"]]
    assert actions[:2] == ["CreateIpamPool", "ProvisionIpamPoolCidr"]
    assert [s["number"] for s in body["steps"]] == [1, 2, 3, 4]
    kid_create = next(s for s in body["steps"] if s["node"] == "kid" and s["number"] == 3)
    assert kid_create["after"] == [1, 2]
    assert kid_create["params"]["SourceIpamPoolId"] == {"ref": "top"}


def test_document(viewer, plan):
    body = viewer.get(url(plan, "document")).json()
    assert body["schema_version"] == 1
    assert {n["id"] for n in body["nodes"]} == {"top", "kid"}


@pytest.mark.parametrize("path", ["", "nodes", "findings", "diff", "runs", "document"])
def test_reading_needs_a_viewer(api_as, plan, path):
    problem(api_as("nobody").get(url(plan, *([path] if path else []))), 403)
    problem(Client().get(url(plan, *([path] if path else []))), 401)


@pytest.mark.parametrize(
    "path",
    [
        "/api/plans/999999999/",
        "/api/plans/999999999/nodes/",
        "/api/plans/999999999/findings/",
        "/api/plans/999999999/diff/",
        "/api/plans/999999999/runs/",
        "/api/plans/999999999/runs/1/",
        "/api/plans/{plan}/nodes/nope/",
        "/api/plans/{plan}/runs/999999999/",
        "/api/plans/99999999999999999999/",
        "/api/plans/-1/",
        "/api/plans/%C2%B2/",
        "/api/plans/{plan}/nodes/a%00b/",
        "/api/plans/{plan}/nodes/" + "k" * 40 + "/",
    ],
)
def test_what_is_not_there_is_404(viewer, plan, path):
    problem(viewer.get(path.format(plan=plan.pk)), 404)


# --- creating -----------------------------------------------------------------------------


def test_create_an_empty_plan(editor, private_scope):
    answer = editor.post(
        "/api/plans/",
        {"scope": private_scope.scope_id, "name": "new", "space": ["10.0.0.0/8"]},
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert answer["Location"] == url(body["id"])
    created = Plan.objects.get(pk=body["id"])
    assert created.ipam == private_scope.ipam
    assert created.space == ["10.0.0.0/8"]
    assert created.created_by == editor.user
    assert body["node_count"] == 0


def test_create_a_plan_with_nodes(editor, private_scope):
    nodes = [
        {"id": "top", "name": "top", "intent": {"prefix_length": 16}},
        {"id": "kid", "parent": "top", "name": "kid", "intent": {"prefix_length": 20}},
    ]
    answer = editor.post(
        "/api/plans/",
        {
            "ipam": private_scope.ipam.ipam_id,
            "scope": private_scope.scope_id,
            "name": "with nodes",
            "space": ["100.64.0.0/10"],
            "nodes": nodes,
        },
    )
    assert answer.status_code == 201, answer.content
    plan = Plan.objects.get(pk=answer.json()["id"])
    rows = {n.key: n for n in plan.nodes.select_related("parent")}
    assert set(rows) == {"top", "kid"}
    assert rows["kid"].parent.key == "top"
    assert rows["top"].cidr is not None


def test_create_a_plan_under_a_parent_pool(editor, private_scope):
    parent = IpamPool.objects.get(name="corporate")
    answer = editor.post(
        "/api/plans/",
        {"scope": private_scope.scope_id, "name": "under", "parent_pool": parent.pool_id},
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["parent_pool_id"] == parent.pool_id


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "x"}, {"space": "space_required"}),
        ({"name": "x", "space": ["10.0.0.1/8"]}, None),
        ({"name": "x", "space": ["10.0.0.0/8", "10.1.0.0/16"]}, {"space": "space_overlaps"}),
        ({"name": "small", "space": ["10.0.0.0/8"]}, {"name": "plan_name_taken"}),
        (
            {
                "name": "x",
                "space": ["10.0.0.0/8"],
                "nodes": [{"id": "a", "name": "a", "intent": {"prefix_length": 99}}],
            },
            None,
        ),
        (
            {
                "name": "x",
                "space": ["10.0.0.0/8"],
                "nodes": [{"id": "a", "parent": "zz", "name": "a", "intent": {}}],
            },
            None,
        ),
    ],
)
def test_create_refusals(editor, private_scope, plan, body, expected):
    body = {"scope": private_scope.scope_id, **body}
    before = state()
    found = codes(problem(editor.post("/api/plans/", body), 422))
    if expected is not None:
        assert expected.items() <= found.items(), found
    else:
        assert found
    assert state() == before


def test_create_node_document_problems_name_their_field(editor, private_scope):
    body = {
        "scope": private_scope.scope_id,
        "name": "x",
        "space": ["10.0.0.0/8"],
        "nodes": [
            {"id": "a", "name": "a", "intent": {"prefix_length": 16}},
            {"id": "b", "parent": "zz", "name": "b", "intent": {"prefix_length": 99}},
        ],
    }
    found = codes(problem(editor.post("/api/plans/", body), 422))
    assert found == {
        "nodes.1.intent.prefix_length": "prefix_length_out_of_range",
        "nodes.1.parent": "parent_unknown",
    }


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"scope": ["a"], "name": "x"},
        {"scope": "s", "name": "x" * 2000},
        {"scope": "s", "name": "x", "space": "10.0.0.0/8"},
        {"scope": "s", "name": "x", "nodes": ["x"]},
        {"scope": "s", "name": "x", "address_family": "ipv5"},
        {"name": "x", "space": ["10.0.0.0/8"]},
        {"scope": "s", "name": "a\x00b"},
    ],
)
def test_create_bad_shapes_are_400(editor, body):
    before = state()
    problem(editor.post("/api/plans/", body), 400)
    assert state() == before


def test_create_permissions(api_as, viewer, private_scope):
    body = {"scope": private_scope.scope_id, "name": "new", "space": ["10.0.0.0/8"]}
    problem(viewer.post("/api/plans/", body), 403)
    problem(api_as("nobody").post("/api/plans/", body), 403)
    problem(Client().post("/api/plans/", body, content_type="application/json"), 401)
    assert api_as("admin").post("/api/plans/", body).status_code == 201


# --- settings, delete, validate -----------------------------------------------------------


def test_settings(editor, plan):
    answer = editor.patch(url(plan), {"name": "renamed", "space": ["172.16.0.0/12"]})
    assert answer.status_code == 200, answer.content
    plan.refresh_from_db()
    assert plan.name == "renamed"
    assert answer.json()["name"] == "renamed"
    assert plan.description == ""


def test_settings_refusals(editor, plan, make_plan):
    make_plan("taken", space="10.0.0.0/16")
    before = state()
    assert codes(problem(editor.patch(url(plan), {"name": "taken"}), 422)) == {"name": "name_taken"}
    assert codes(problem(editor.patch(url(plan), {"space": ["10.0.0.1/8"]}), 422))["space"]
    problem(editor.patch(url(plan), {"name": ["x"]}), 400)
    assert state() == before


def test_if_match(editor, plan):
    before = state()
    body = problem(editor.patch(url(plan), {"name": "x"}, **{"If-Match": '"1"'}), 412)
    assert codes(body) == {"If-Match": "version_mismatch"}
    assert state() == before
    good = editor.patch(url(plan), {"name": "x"}, **{"If-Match": f'"{plan.version}"'})
    assert good.status_code == 200


def test_delete(editor, api_as, viewer, plan):
    problem(viewer.delete(url(plan)), 403)
    problem(api_as("nobody").delete(url(plan)), 403)
    assert editor.delete(url(plan)).status_code == 204
    assert not Plan.objects.filter(pk=plan.pk).exists()
    assert not Reservation.objects.filter(plan_id=plan.pk).exists()
    problem(editor.delete(url(plan)), 404)


def test_validate(editor, viewer, plan):
    version = plan.version
    problem(viewer.post(url(plan, "validate")), 403)
    answer = editor.post(url(plan, "validate"))
    assert answer.status_code == 200, answer.content
    assert answer.json()["validated"] is True
    plan.refresh_from_db()
    assert plan.version == version + 1


def test_a_plan_being_applied_takes_no_edit(editor, plan):
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.APPLYING)
    before = state()
    for answer in (
        editor.patch(url(plan), {"name": "x"}),
        editor.post(url(plan, "nodes"), {"name": "n", "prefix_length": 24}),
        editor.patch(url(plan, "nodes", "kid"), {"name": "x"}),
        editor.post(url(plan, "nodes", "kid", "move"), {"parent": None}),
        editor.delete(url(plan, "nodes", "kid")),
        editor.put(url(plan, "document"), {"schema_version": 1}),
        editor.delete(url(plan)),
    ):
        assert problem(answer, 409)["code"] in ("plan_not_editable", "plan_applying")
    assert state() == before


# --- nodes --------------------------------------------------------------------------------


def test_add_a_node(editor, plan):
    answer = editor.post(
        url(plan, "nodes"),
        {"key": "new1", "name": "new", "parent": "top", "prefix_length": 24, "tags": {"a": "b"}},
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["key"] == "new1"
    assert body["parent"] == "top"
    assert body["depth"] == 2
    assert IPNetwork(body["cidr"]).prefixlen == 24
    assert body["tags"] == {"a": "b"}
    again = editor.post(url(plan, "nodes"), {"key": "new1", "name": "new", "prefix_length": 24})
    assert again.status_code == 200
    assert PlanNode.objects.filter(plan=plan, key="new1").count() == 1


def test_add_a_node_with_a_need_and_a_made_up_key(editor, plan):
    answer = editor.post(url(plan, "nodes"), {"name": "need", "intent": "need", "need_hosts": 1000})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["intent"] == "need"
    assert body["need_hosts"] == 1000
    assert IPNetwork(body["cidr"]).prefixlen == 22


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "n"}, {"prefix_length": "required"}),
        ({"name": "n", "prefix_length": 33}, None),
        ({"name": "n", "intent": "cidr"}, {"cidr": "required"}),
        ({"name": "n", "intent": "cidr", "cidr": "10.0.0.1/16"}, None),
        ({"name": "n", "prefix_length": 24, "parent": "zz"}, {"parent": "invalid_choice"}),
        ({"name": "n", "prefix_length": 24, "spare_slots": 9999}, None),
        (
            {"name": "n", "prefix_length": 24, "tags": {"Name": "x"}},
            {"tags.Name": "tag_name_is_the_name"},
        ),
        ({"name": "n", "prefix_length": 24, "locale": "xx-nowhere-1"}, {"locale": None}),
        ({"name": "n", "intent": "need", "need_hosts": 10, "need_length": 24}, None),
        ({"name": "", "prefix_length": 24}, {"name": "required"}),
    ],
)
def test_add_refusals(editor, plan, body, expected):
    before = state()
    found = codes(problem(editor.post(url(plan, "nodes"), body), 422))
    for field, code in (expected or {}).items():
        assert field in found, found
        if code:
            assert found[field] == code, found
    assert found
    assert state() == before


def test_change_a_node(editor, plan):
    answer = editor.patch(url(plan, "nodes", "kid"), {"name": "renamed", "prefix_length": 21})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["name"] == "renamed"
    assert body["prefix_length"] == 21
    assert body["tags"] == {"team": "web"}  # not given: kept
    assert editor.patch(url(plan, "nodes", "kid"), {"tags": {}}).json()["tags"] == {}


def test_pin_a_node(editor, plan):
    top = PlanNode.objects.get(plan=plan, key="top")
    cidr = str(IPNetwork(f"{top.cidr.network}/24"))
    body = editor.patch(url(plan, "nodes", "kid"), {"intent": "cidr", "cidr": cidr}).json()
    assert body["intent"] == "cidr"
    assert body["cidr"] == cidr


def test_change_refusals(editor, plan):
    before = state()
    assert codes(problem(editor.patch(url(plan, "nodes", "kid"), {"prefix_length": 40}), 422)).get(
        "prefix_length"
    )
    rules = {"min_netmask": 28, "max_netmask": 24}
    found = codes(problem(editor.patch(url(plan, "nodes", "kid"), rules), 422))
    assert found.keys() & {"min_netmask", "max_netmask"}, found
    problem(editor.patch(url(plan, "nodes", "kid"), {"prefix_length": "x"}), 400)
    problem(editor.patch(url(plan, "nodes", "nope"), {"name": "x"}), 404)
    assert state() == before


def test_move_a_node(editor, plan):
    answer = editor.post(url(plan, "nodes", "kid", "move"), {"parent": None})
    assert answer.status_code == 200, answer.content
    assert answer.json()["parent"] is None
    assert answer.json()["depth"] == 1
    before = state()
    found = codes(problem(editor.post(url(plan, "nodes", "top", "move"), {"parent": "top"}), 422))
    assert found == {"parent": "invalid_choice"}
    problem(editor.post(url(plan, "nodes", "top", "move"), {}), 400)
    assert state() == before


def test_delete_a_node(editor, plan):
    assert editor.delete(url(plan, "nodes", "top")).status_code == 204
    assert not PlanNode.objects.filter(plan=plan).exists()  # with its subtree
    problem(editor.delete(url(plan, "nodes", "top")), 404)


def test_node_writes_need_an_editor(api_as, viewer, plan):
    before = state()
    for caller, status in ((viewer, 403), (api_as("nobody"), 403)):
        problem(caller.post(url(plan, "nodes"), {"name": "n", "prefix_length": 24}), status)
        problem(caller.patch(url(plan, "nodes", "kid"), {"name": "x"}), status)
        problem(caller.post(url(plan, "nodes", "kid", "move"), {"parent": None}), status)
        problem(caller.delete(url(plan, "nodes", "kid")), status)
        problem(caller.patch(url(plan), {"name": "x"}), status)
        problem(caller.put(url(plan, "document"), {}), status)
    anonymous = Client()
    problem(anonymous.post(url(plan, "nodes"), {}, content_type="application/json"), 401)
    problem(anonymous.delete(url(plan, "nodes", "kid")), 401)
    assert state() == before


# --- the document -------------------------------------------------------------------------


def test_replace_the_nodes_from_a_document(editor, plan):
    document = editor.get(url(plan, "document")).json()
    document["nodes"] = [n for n in document["nodes"] if n["id"] == "top"] + [
        {"id": "other", "parent": "top", "name": "other", "intent": {"prefix_length": 24}}
    ]
    answer = editor.put(url(plan, "document"), document)
    assert answer.status_code == 200, answer.content
    assert set(PlanNode.objects.filter(plan=plan).values_list("key", flat=True)) == {
        "top",
        "other",
    }


def test_a_bad_document_is_refused_with_its_paths(editor, plan):
    before = state()
    document = {
        "schema_version": 1,
        "name": "x",
        "address_family": "ipv4",
        "nodes": [{"id": "a", "name": "a", "intent": {"prefix_length": 99}}],
    }
    found = codes(problem(editor.put(url(plan, "document"), document), 422))
    assert found == {"nodes.0.intent.prefix_length": "prefix_length_out_of_range"}
    found = codes(
        problem(
            editor.put(url(plan, "document"), {**document, "address_family": "ipv6", "nodes": []}),
            422,
        )
    )
    assert found == {"address_family": "family_differs"}
    assert codes(problem(editor.put(url(plan, "document"), ["x"]), 422))
    assert state() == before
