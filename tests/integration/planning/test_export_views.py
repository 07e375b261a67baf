"""Exports, the schema and uploads, through the views: who may, what comes back, what is
written (and that a GET writes nothing)."""

from __future__ import annotations

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
from netaddr import IPNetwork

from planning import formats, selectors
from planning.models import Plan, PlanNode
from planning.spec import Intent, Need
from pools.models import IpamPool, Reservation
from tests.integration.app.conftest import shared_service_models

from .conftest import node

# botocore's EC2 model read once for the module's tests, as the app's tests do.
shared_service_models = shared_service_models

WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


@pytest.fixture
def clients(demo, django_user_model) -> dict[str, Client]:
    made = {"anonymous": Client()}
    for role, group in (("viewer", "IPAM viewers"), ("editor", "IPAM editors")):
        user = django_user_model.objects.create_user(role)
        user.groups.add(Group.objects.get(name=group))
        made[role] = Client()
        made[role].force_login(user)
    nobody = django_user_model.objects.create_user("nobody")
    made["nobody"] = Client()
    made["nobody"].force_login(nobody)
    return made


@pytest.fixture
def plan(make_plan) -> Plan:
    return make_plan(
        "Prod network",
        description="the plan",
        nodes=[
            node("top", "top", prefix_length=13, tags=(("env", "prod"),)),
            node("east", "east", "top", prefix_length=16, locale="us-east-1"),
            node("west", "west", "top", prefix_length=16, locale="us-west-2", min_netmask=20),
            node("vpc", "vpc", "east", intent=Intent.NEED, need=Need(count=2, length=24)),
            node("pin", "pin", "west", intent=Intent.CIDR, cidr=IPNetwork("172.24.128.0/20")),
        ],
    )


def state() -> tuple:
    return (
        sorted(Plan.objects.values_list("pk", "name", "version")),
        sorted(PlanNode.objects.values_list("plan_id", "key", "name", "cidr")),
        Reservation.objects.count(),
    )


def codes(response) -> list[str]:
    return re.findall(r'data-code="([^"]*)"', response.content.decode())


# --- export ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("yaml", "application/yaml; charset=utf-8"),
        ("json", "application/json"),
        ("tf", "text/plain; charset=utf-8"),
        ("csv", "text/csv; charset=utf-8"),
    ],
)
def test_an_export_is_a_download_and_writes_nothing(
    clients, plan, fmt, content_type, django_assert_max_num_queries
):
    url = reverse("plan_export", args=[plan.pk, fmt])
    # the session, the user and their permissions (4), the plan, its nodes: whatever its size
    with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(6):
        response = clients["viewer"].get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == (
        f'attachment; filename="prod-network-plan-{plan.pk}.{fmt}"'
    )
    assert not [q["sql"] for q in queries if WRITE.match(q["sql"])]


def test_the_yaml_and_json_exports_are_the_plan(clients, plan):
    spec = selectors.plan_spec(Plan.objects.get(pk=plan.pk))
    for fmt, read in (("yaml", formats.from_yaml), ("json", formats.from_json)):
        body = clients["viewer"].get(reverse("plan_export", args=[plan.pk, fmt])).content
        meta, nodes = read(body)
        assert sorted(nodes, key=lambda n: n.key) == sorted(spec.nodes, key=lambda n: n.key)
        assert meta.scope_id == plan.scope.scope_id
        assert meta.ipam_id == plan.ipam.ipam_id
        assert meta.space == (IPNetwork("172.16.0.0/12"),)
        assert meta.extra["plan_id"] == plan.pk
        assert meta.extra["url"].endswith(reverse("plan_detail", args=[plan.pk]))
    document = json.loads(
        clients["viewer"].get(reverse("plan_export", args=[plan.pk, "json"])).content
    )
    assert document["$schema"] == "http://testserver" + reverse("plan_schema", args=[1])


def test_the_terraform_export_has_each_node(clients, plan):
    text = clients["viewer"].get(reverse("plan_export", args=[plan.pk, "tf"])).content.decode()
    assert text.count('resource "aws_vpc_ipam_pool" ') == 5
    assert text.count('resource "aws_vpc_ipam_pool_cidr" ') == 5
    assert f'ipam_scope_id = "{plan.scope.scope_id}"' in text


def test_the_csv_export_reads_back(clients, plan):
    body = clients["viewer"].get(reverse("plan_export", args=[plan.pk, "csv"])).content
    _, nodes = formats.from_csv(body, address_family="ipv4")
    assert {n.key for n in nodes} == {"top", "east", "west", "vpc", "pin"}
    assert {n.key: n.parent for n in nodes}["vpc"] == "east"


def test_a_filename_is_safe_whatever_the_plan_s_name(clients, make_plan):
    odd = make_plan('a"b\\c/../é\r\nx', nodes=[])
    response = clients["viewer"].get(reverse("plan_export", args=[odd.pk, "yaml"]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="abce-x-plan-{odd.pk}.yaml"'
    empty = make_plan("///", nodes=[])
    response = clients["viewer"].get(reverse("plan_export", args=[empty.pk, "csv"]))
    assert response["Content-Disposition"] == f'attachment; filename="plan-plan-{empty.pk}.csv"'


def test_an_unknown_format_is_404(clients, plan):
    for fmt in ["xml", "YAML", "yml", "", "json.exe", "tf%00", "..%2f"]:
        response = clients["viewer"].get(f"/plans/{plan.pk}/export.{fmt}")
        assert response.status_code == 404, fmt


def test_exports_need_view_permission(clients, plan):
    url = reverse("plan_export", args=[plan.pk, "yaml"])
    assert clients["anonymous"].get(url).status_code == 302
    assert clients["nobody"].get(url).status_code == 403
    assert (
        clients["viewer"].get(reverse("plan_export", args=[plan.pk + 99, "yaml"])).status_code
        == 404
    )
    assert clients["viewer"].post(url).status_code == 405


# --- the schema -----------------------------------------------------------------------------------


def test_the_schema_is_published_to_logged_in_users(clients):
    url = reverse("plan_schema", args=[formats.SCHEMA_VERSION])
    response = clients["nobody"].get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/schema+json"
    assert json.loads(response.content) == formats.schema()
    assert clients["anonymous"].get(url).status_code == 302
    assert clients["nobody"].get(reverse("plan_schema", args=[2])).status_code == 404
    assert clients["nobody"].get("/plans/schema/v0.json").status_code == 404


# --- upload: a new plan ---------------------------------------------------------------------------


def upload(client: Client, data: dict, **headers):
    return client.post(reverse("plan_upload"), data, **headers)


def exported(client: Client, plan: Plan, fmt: str = "yaml") -> str:
    return client.get(reverse("plan_export", args=[plan.pk, fmt])).content.decode()


def test_the_upload_form_needs_add_permission(clients):
    url = reverse("plan_upload")
    assert clients["editor"].get(url).status_code == 200
    assert clients["viewer"].get(url).status_code == 403
    assert clients["viewer"].post(url, {"text": "x"}).status_code == 403
    assert clients["anonymous"].get(url).status_code == 302


def test_an_exported_plan_uploads_as_a_copy_with_its_ids(clients, plan):
    text = exported(clients["editor"], plan)
    before = Plan.objects.count()
    response = upload(clients["editor"], {"text": text, "name": "Copy"})
    assert response.status_code == 302
    copy = Plan.objects.get(name="Copy")
    assert response["Location"] == reverse("plan_detail", args=[copy.pk])
    assert Plan.objects.count() == before + 1
    assert (copy.scope, copy.address_family, copy.space) == (plan.scope, "ipv4", plan.space)
    assert copy.description == "the plan"
    original = selectors.plan_spec(plan).nodes
    assert sorted(selectors.plan_spec(copy).nodes, key=lambda n: n.key) == sorted(
        original, key=lambda n: n.key
    )


def test_a_json_file_uploads(clients, plan):
    text = exported(clients["editor"], plan, "json").replace('"Prod network"', '"From a file"')
    file = SimpleUploadedFile("plan.json", text.encode(), content_type="application/json")
    response = upload(clients["editor"], {"file": file})
    assert response.status_code == 302
    assert PlanNode.objects.filter(plan__name="From a file").count() == 5


def test_a_csv_uploads_into_the_chosen_scope_and_is_packed(clients, private_scope):
    text = (
        "name,parent,cidr,prefix_length\n"
        "global,,172.16.0.0/12,\n"
        "us-east-1,global,,14\n"
        "prod,us-east-1,,16\n"
    )
    response = upload(
        clients["editor"],
        {"text": text, "format": "csv", "name": "From CSV", "scope": private_scope.scope_id},
    )
    assert response.status_code == 302
    rows = {n.name: n for n in PlanNode.objects.filter(plan__name="From CSV")}
    assert rows["global"].intent == Intent.CIDR
    assert str(rows["us-east-1"].cidr) == "172.16.0.0/14"  # placed by the packer
    assert rows["prod"].parent == rows["us-east-1"]


def test_a_csv_needs_a_name_and_a_scope(clients):
    before = state()
    response = upload(clients["editor"], {"text": "name,cidr\na,10.0.0.0/8\n"})
    assert response.status_code == 200
    assert {"required"} <= set(codes(response))
    assert 'id="id_name_error"' in response.content.decode()
    assert state() == before


def test_a_broken_document_is_shown_with_its_problems_and_kept(clients, plan):
    text = exported(clients["editor"], plan).replace("prefix_length: 16", "prefix_length: 99", 1)
    text = text.replace("name: Prod network", "name: Another")
    before = state()
    response = upload(clients["editor"], {"text": text})
    assert response.status_code == 200
    assert "prefix_length_out_of_range" in codes(response)
    page = response.content.decode()
    assert "prefix_length: 99" in page  # the text is kept
    assert re.search(r"line \d+: nodes\[\d\]\.intent\.prefix_length", page)
    assert state() == before


def test_a_taken_name_is_refused_at_the_name(clients, plan):
    before = state()
    response = upload(clients["editor"], {"text": exported(clients["editor"], plan)})
    assert response.status_code == 200
    assert "plan_name_taken" in codes(response)
    assert state() == before


def test_an_unknown_scope_in_the_document_asks_for_one(clients, plan, private_scope):
    text = exported(clients["editor"], plan).replace(
        plan.scope.scope_id, "ipam-scope-00000000000000000"
    )
    text = text.replace("name: Prod network", "name: Elsewhere")
    response = upload(clients["editor"], {"text": text})
    assert "scope_unknown" in codes(response)
    response = upload(clients["editor"], {"text": text, "scope": private_scope.scope_id})
    assert response.status_code == 302


def test_the_family_must_agree_with_the_document(clients, plan):
    text = exported(clients["editor"], plan).replace("name: Prod network", "name: Six")
    response = upload(clients["editor"], {"text": text, "address_family": "ipv6"})
    assert "family_differs" in codes(response)


def test_a_parent_pool_must_be_live_in_the_scope(clients, plan):
    text = exported(clients["editor"], plan).replace("name: Prod network", "name: Under")
    text = text.replace("parent_pool_id: null", "parent_pool_id: ipam-pool-00000000000000000")
    response = upload(clients["editor"], {"text": text})
    assert "parent_pool_unknown" in codes(response)
    pool = IpamPool.objects.get(name="us-east-1-prod")
    response = upload(
        clients["editor"], {"text": text.replace("ipam-pool-00000000000000000", pool.pool_id)}
    )
    assert response.status_code == 302
    assert Plan.objects.get(name="Under").parent_pool == pool


def test_the_space_field_replaces_the_document_s(clients, plan):
    text = exported(clients["editor"], plan).replace("name: Prod network", "name: Spaced")
    response = upload(clients["editor"], {"text": text, "space": "192.168.0.1/16"})
    assert "cidr_host_bits_set" in codes(response)
    response = upload(clients["editor"], {"text": text, "space": "172.16.0.0/12, 192.168.0.0/16"})
    assert response.status_code == 302
    assert Plan.objects.get(name="Spaced").space == ["172.16.0.0/12", "192.168.0.0/16"]


def test_check_shows_what_the_document_holds_and_creates_nothing(clients, plan):
    text = exported(clients["editor"], plan).replace("name: Prod network", "name: Checked")
    before = state()
    response = upload(clients["editor"], {"text": text, "check": "1"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="upload-preview"' in page
    assert "5 nodes" in page
    assert state() == before


def test_htmx_check_answers_the_form_alone_and_create_redirects_the_client(clients, plan):
    text = exported(clients["editor"], plan).replace("name: Prod network", "name: Htmx")
    response = upload(clients["editor"], {"text": text, "check": "1"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert page.lstrip().startswith('<form id="upload-form"')
    assert "<html" not in page
    response = upload(clients["editor"], {"text": text}, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse(
        "plan_detail", args=[Plan.objects.get(name="Htmx").pk]
    )


def test_a_file_s_text_comes_back_in_the_text_field(clients):
    file = SimpleUploadedFile("plan.yaml", b"schema_version: 1\nname: x\nnodes: 5\n")
    response = upload(clients["editor"], {"file": file})
    assert response.status_code == 200
    assert "nodes: 5" in response.content.decode()
    assert "type" in codes(response)


def test_a_file_that_is_not_text_is_refused_at_the_file(clients):
    response = upload(clients["editor"], {"file": SimpleUploadedFile("plan.yaml", b"\xff\xfe\x00")})
    assert "not_utf8" in codes(response)
    assert 'id="id_file_error"' in response.content.decode()


def test_nothing_to_read_is_asked_for(clients):
    response = upload(clients["editor"], {"text": "   "})
    assert "required" in codes(response)


# --- upload into a plan ---------------------------------------------------------------------------


def test_an_upload_into_a_plan_replaces_its_nodes_and_keeps_ids(clients, plan):
    url = reverse("plan_import", args=[plan.pk])
    assert clients["editor"].get(url).status_code == 200
    keep = PlanNode.objects.get(plan=plan, key="east").pk
    text = "id,name,parent,prefix_length\ntop,top,,13\neast,east-renamed,top,16\nnew,new,east,20\n"
    before = plan.version
    response = clients["editor"].post(url, {"text": text})
    assert response.status_code == 302
    assert response["Location"] == reverse("plan_detail", args=[plan.pk])
    rows = {r.key: r for r in PlanNode.objects.filter(plan=plan)}
    assert set(rows) == {"top", "east", "new"}
    assert rows["east"].pk == keep  # updated in place
    assert rows["east"].name == "east-renamed"
    plan.refresh_from_db()
    assert plan.version > before
    assert plan.name == "Prod network"


def test_an_upload_into_a_plan_needs_change_permission(clients, plan):
    url = reverse("plan_import", args=[plan.pk])
    before = state()
    assert clients["viewer"].get(url).status_code == 403
    assert clients["viewer"].post(url, {"text": "name,cidr\na,172.16.0.0/12\n"}).status_code == 403
    assert (
        clients["editor"].post(reverse("plan_import", args=[plan.pk + 99]), {}).status_code == 404
    )
    assert state() == before


def test_an_upload_into_a_plan_of_another_family_is_refused(clients, plan, make_plan):
    six = make_plan(
        "six", space="fd00::/8", address_family="ipv6", nodes=[node("a", prefix_length=16)]
    )
    text = exported(clients["editor"], six)
    before = state()
    response = clients["editor"].post(reverse("plan_import", args=[plan.pk]), {"text": text})
    assert "family_differs" in codes(response)
    assert state() == before


def test_an_upload_into_a_plan_being_applied_is_refused(clients, plan):
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.APPLYING)
    before = state()
    response = clients["editor"].post(
        reverse("plan_import", args=[plan.pk]), {"text": "name,cidr\na,172.16.0.0/12\n"}
    )
    assert "plan_applying" in codes(response)
    assert state() == before


def test_the_upload_pages_are_plain_pages(clients, plan):
    for url in (reverse("plan_upload"), reverse("plan_import", args=[plan.pk])):
        page = clients["editor"].get(url).content.decode()
        assert 'enctype="multipart/form-data"' in page
        assert 'hx-post="' in page
        assert reverse("plan_schema", args=[1]) in page
    assert yaml.safe_load(exported(clients["editor"], plan))["name"] == "Prod network"
