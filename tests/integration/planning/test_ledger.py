"""The reservation ledger's page: who may read, add and release; what is refused next to the
CIDR (naming the holder) and what is only a warning; a GET writes nothing; the admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from netaddr import IPNetwork

from planning import services
from pools.models import Ipam, Reservation
from tests.integration.app.pool_form_support import HX, Answer

from .conftest import node

WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def ipam(demo) -> Ipam:
    return Ipam.objects.get()


@pytest.fixture
def people(db, demo, django_user_model) -> dict[str, Client]:
    """Clients: a viewer and an editor (by their groups), someone who may read pools but not
    the ledger, and an anonymous visitor."""
    made = {"anonymous": Client()}
    for role, group in (("viewer", "IPAM viewers"), ("editor", "IPAM editors")):
        user = django_user_model.objects.create_user(role)
        user.groups.add(Group.objects.get(name=group))
        made[role] = Client()
        made[role].force_login(user)
    reader = django_user_model.objects.create_user("pools-only")
    reader.user_permissions.add(Permission.objects.get(codename="view_ipampool"))
    made["pools-only"] = Client()
    made["pools-only"].force_login(reader)
    return made


def url(ipam: Ipam) -> str:
    return reverse("ledger", args=[ipam.ipam_id])


def reserve(ipam: Ipam, cidr: str, name: str = "datacenter", kind: str = "external", **kw):
    family = "ipv6" if ":" in cidr else "ipv4"
    return Reservation.objects.create(
        ipam=ipam, address_family=family, cidr=IPNetwork(cidr), kind=kind, name=name, **kw
    )


def posted(**values: str) -> dict[str, str]:
    return {
        "address_family": "ipv4",
        "cidr": "192.168.0.0/16",
        "kind": "external",
        "name": "office-nyc",
        "note": "",
        **values,
    }


def codes(response: Any, field: str = "cidr") -> list[str]:
    return Answer.of(response.content.decode()).field_codes(field)


def message_levels(response: Any) -> list[str]:
    return [m.level_tag for m in get_messages(response.wsgi_request)]


# --- reading ---------------------------------------------------------------------------


def test_viewers_read_the_ledger_by_family_with_holders_and_plans(people, ipam, make_plan):
    plan = make_plan("q3", nodes=[node("vpc", prefix_length=16)])
    reserve(ipam, "192.168.0.0/16", note="MPLS to the NYC office")
    reserve(ipam, "fd12::/16", name="partner", kind="excluded")

    response = people["viewer"].get(url(ipam))

    assert response.status_code == 200
    page = Answer.of(response.content.decode())
    v4 = page["ledger-ipv4"].text
    assert "192.168.0.0/16" in v4
    assert "MPLS to the NYC office" in v4
    assert "172.16.0.0/16" in v4  # the plan's block
    assert "fd12::/16" in page["ledger-ipv6"].text
    assert reverse("plan_detail", args=[plan.pk]) in response.content.decode()
    assert page.by_id("ledger-add") is None  # viewers add nothing
    assert not any(e.attrs.get("action", "").endswith("/delete/") for e in page.elements)


@pytest.mark.parametrize(("role", "status"), [("anonymous", 302), ("pools-only", 403)])
def test_the_ledger_needs_its_view_permission(people, ipam, role, status):
    assert people[role].get(url(ipam)).status_code == status


@pytest.mark.parametrize("ipam_id", ["ipam-0123456789abcdef0", "a\x00b", "²", "x" * 5000])
def test_an_unknown_or_hostile_ipam_is_not_found(people, ipam, ipam_id):
    response = people["viewer"].get(f"/ipams/{ipam_id}/ledger/")
    assert response.status_code == 404


def test_a_get_writes_nothing(people, ipam, make_plan):
    make_plan("q3", nodes=[node("vpc", prefix_length=16)])
    with CaptureQueriesContext(connection) as queries:
        response = people["editor"].get(url(ipam), {"family": "ipv6", "cidr": "10.0.0.0/8"})
    assert response.status_code == 200
    assert not [q for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]


def test_the_page_costs_the_same_queries_at_3_rows_as_at_300(
    people, ipam, make_plan, django_assert_max_num_queries
):
    make_plan("q3", nodes=[node("vpc", prefix_length=16)])
    reserve(ipam, "192.168.0.0/24")
    client = people["editor"]
    client.get(url(ipam))  # the session is written once
    # session, user, permissions (2), the IPAM, the rows with their users, the plans' names
    with django_assert_max_num_queries(7):
        assert client.get(url(ipam)).status_code == 200
    Reservation.objects.bulk_create(
        Reservation(
            ipam=ipam, address_family="ipv4", cidr=IPNetwork(f"192.168.{i}.0/24"), name=f"s{i}"
        )
        for i in range(1, 200)
    )
    for index in range(3):  # more plans, each holding a block
        make_plan(f"p{index}", nodes=[node(f"v{index}", prefix_length=20)])
    with django_assert_max_num_queries(7):
        response = client.get(url(ipam))
    assert response.content.decode().count('id="reservation-') == 204


# --- adding ----------------------------------------------------------------------------


def test_an_editor_reserves_an_external_network(people, ipam):
    response = people["editor"].post(url(ipam), posted(note="through the MPLS"))

    assert response.status_code == 302
    row = Reservation.objects.get(cidr="192.168.0.0/16")
    assert (row.kind, row.name, row.note, row.address_family) == (
        "external",
        "office-nyc",
        "through the MPLS",
        "ipv4",
    )
    assert row.created_by.username == "editor"
    assert message_levels(response) == ["success"]


def test_an_excluded_ipv6_range(people, ipam):
    response = people["editor"].post(
        url(ipam), posted(address_family="ipv6", cidr="fd99::/16", kind="excluded")
    )
    assert response.status_code == 302
    assert Reservation.objects.get().cidr == IPNetwork("fd99::/16")


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"cidr": "10.0.0.1/16"}, "cidr", "cidr_host_bits_set"),
        ({"cidr": "banana"}, "cidr", "cidr_invalid"),
        ({"cidr": "10.0.0.0/ 8"}, "cidr", "cidr_invalid"),
        ({"cidr": "fd00::/8"}, "cidr", "cidr_wrong_family"),
        ({"cidr": ""}, "cidr", "required"),
        ({"name": ""}, "name", "required"),
        ({"name": "a\x00b"}, "name", "null_characters_not_allowed"),
        ({"name": "x" * 257}, "name", "max_length"),
        ({"kind": "plan"}, "kind", "invalid_choice"),
        ({"address_family": "ipv5"}, "address_family", "invalid_choice"),
    ],
)
def test_bad_input_is_refused_next_to_its_field_and_kept(people, ipam, values, field, code):
    response = people["editor"].post(url(ipam), posted(**values))

    assert response.status_code == 200
    assert codes(response, field) == [code]
    assert not Reservation.objects.exists()
    kept = Answer.of(response.content.decode()).named("cidr")[0].attrs.get("value", "")
    assert kept == posted(**values)["cidr"]


@pytest.mark.parametrize("cidr", ["192.168.0.0/16", "192.168.4.0/24", "192.0.0.0/8"])
def test_a_block_overlapping_another_reservation_is_refused_naming_its_holder(people, ipam, cidr):
    reserve(ipam, "192.168.0.0/16", name="datacenter-ashburn")

    response = people["editor"].post(url(ipam), posted(cidr=cidr, name="other"))

    assert codes(response) == ["overlaps_reservation"]
    assert "datacenter-ashburn" in Answer.of(response.content.decode())["id_cidr_error"].text
    assert Reservation.objects.count() == 1


def test_a_block_overlapping_a_plans_block_is_refused_naming_the_plan(people, ipam, make_plan):
    make_plan("q3", nodes=[node("vpc", prefix_length=16)])  # holds 172.16.0.0/16

    response = people["editor"].post(url(ipam), posted(cidr="172.16.8.0/24"))

    assert codes(response) == ["overlaps_plan"]
    assert "q3" in Answer.of(response.content.decode())["id_cidr_error"].text
    assert Reservation.objects.filter(kind="external").count() == 0


def test_the_same_block_in_another_ipam_is_no_clash(people, ipam):
    other = Ipam.objects.create(ipam_id="ipam-0fedcba98765432100", region="us-east-1")
    reserve(other, "192.168.0.0/16")

    response = people["editor"].post(url(ipam), posted())

    assert response.status_code == 302


def test_a_block_in_a_live_pool_is_reserved_with_a_warning(people, ipam):
    response = people["editor"].post(url(ipam), posted(cidr="10.0.200.0/24"))

    assert response.status_code == 302
    assert Reservation.objects.filter(cidr="10.0.200.0/24").exists()
    assert message_levels(response) == ["success", "warning"]
    warning = [m.message for m in get_messages(response.wsgi_request)][1]
    assert "us-east-1-prod" in warning  # the deepest pool first


def test_a_plan_packed_after_a_reservation_keeps_clear_of_it(people, ipam, make_plan):
    people["editor"].post(url(ipam), posted(cidr="172.16.0.0/16"))

    plan = make_plan("later", nodes=[node("vpc", prefix_length=16)])

    held = Reservation.objects.get(plan_id=plan.pk)
    assert held.cidr == IPNetwork("172.17.0.0/16")


def test_viewers_and_others_add_nothing(people, ipam):
    for role, status in (("viewer", 403), ("pools-only", 403), ("anonymous", 302)):
        response = people[role].post(url(ipam), posted())
        assert response.status_code == status, role
    assert not Reservation.objects.exists()


def test_live_validation_judges_and_writes_nothing(people, ipam):
    reserve(ipam, "192.168.0.0/16", name="datacenter-ashburn")
    client = people["editor"]

    clash = client.post(url(ipam), {**posted(cidr="192.168.1.0/24"), "_live": "1"}, **HX)
    in_pool = client.post(url(ipam), {**posted(cidr="10.0.200.0/24"), "_live": "1"}, **HX)
    typing = client.post(url(ipam), {**posted(name="", cidr="10.0"), "_live": "1"}, **HX)

    assert clash.status_code == in_pool.status_code == typing.status_code == 200
    assert Answer.of(clash.content.decode()).field_codes("cidr") == ["overlaps_reservation"]
    warnings = Answer.of(in_pool.content.decode())["ledger-warnings"]
    assert [c.attrs["data-code"] for c in warnings.children] == ["overlaps_live_pool"]
    answer = Answer.of(typing.content.decode())
    assert answer.field_codes("name") == []  # empty is not an error yet
    assert answer.field_codes("cidr") == ["cidr_invalid"]
    assert Reservation.objects.count() == 1


# --- releasing -------------------------------------------------------------------------


def release_url(ipam: Ipam, pk: int) -> str:
    return reverse("reservation_delete", args=[ipam.ipam_id, pk])


def test_an_editor_releases_an_external_block(people, ipam):
    row = reserve(ipam, "192.168.0.0/16")

    response = people["editor"].post(release_url(ipam, row.pk))

    assert response.status_code == 302
    assert not Reservation.objects.exists()


def test_a_plans_block_goes_only_with_its_plan(people, ipam, make_plan):
    plan = make_plan("q3", nodes=[node("vpc", prefix_length=16)])
    row = Reservation.objects.get(plan_id=plan.pk)

    response = people["editor"].post(release_url(ipam, row.pk))

    assert response.status_code == 409
    assert Reservation.objects.filter(pk=row.pk).exists()
    services.plan_delete(plan)
    assert not Reservation.objects.filter(pk=row.pk).exists()


def test_releasing_needs_the_delete_permission_and_a_post(people, ipam):
    row = reserve(ipam, "192.168.0.0/16")
    assert people["viewer"].post(release_url(ipam, row.pk)).status_code == 403
    assert people["editor"].get(release_url(ipam, row.pk)).status_code == 405
    assert Reservation.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("pk", ["other-ipam", "99999", str(1 << 63), "9" * 5000])
def test_another_ipams_or_no_reservation_is_not_found(people, ipam, pk):
    other = Ipam.objects.create(ipam_id="ipam-0fedcba98765432100", region="us-east-1")
    theirs = reserve(other, "192.168.0.0/16")
    mine = reserve(ipam, "192.169.0.0/16")
    number = theirs.pk if pk == "other-ipam" else pk

    response = people["editor"].post(f"/ipams/{ipam.ipam_id}/ledger/{number}/delete/")

    assert response.status_code == 404
    assert Reservation.objects.filter(pk__in=[theirs.pk, mine.pk]).count() == 2


# --- the admin -------------------------------------------------------------------------


def test_the_admin_lists_filters_and_searches_the_ledger(admin_client, ipam, make_plan):
    make_plan("q3", nodes=[node("vpc", prefix_length=16)])
    reserve(ipam, "192.168.0.0/16", name="datacenter-ashburn")
    reserve(ipam, "192.169.0.0/16", name="office", kind="excluded")
    changelist = reverse("admin:pools_reservation_changelist")

    everything = admin_client.get(changelist)
    external = admin_client.get(changelist, {"kind__exact": "external"})
    by_ipam = admin_client.get(changelist, {"ipam__id__exact": ipam.pk})
    by_cidr = admin_client.get(changelist, {"q": "192.169"})
    by_name = admin_client.get(changelist, {"q": "ashburn"})

    assert everything.context["cl"].result_count == 3
    assert external.context["cl"].result_count == 1
    assert by_ipam.context["cl"].result_count == 3
    assert [str(r.cidr) for r in by_cidr.context["cl"].result_list] == ["192.169.0.0/16"]
    assert [r.name for r in by_name.context["cl"].result_list] == ["datacenter-ashburn"]


def test_the_admin_keeps_a_plans_rows_as_the_planner_wrote_them(admin_client, ipam, make_plan):
    plan = make_plan("q3", nodes=[node("vpc", prefix_length=16)])
    row = Reservation.objects.get(plan_id=plan.pk)
    change = reverse("admin:pools_reservation_change", args=[row.pk])

    admin_client.post(change, {"name": "stolen", "cidr": "10.0.0.0/8"})
    admin_client.post(reverse("admin:pools_reservation_delete", args=[row.pk]), {"post": "yes"})

    row.refresh_from_db()
    assert (row.name, row.cidr) == ("plan q3: vpc", IPNetwork("172.16.0.0/16"))


def test_the_admin_refuses_an_overlapping_block(admin_client, ipam):
    reserve(ipam, "192.168.0.0/16", name="datacenter-ashburn")

    response = admin_client.post(
        reverse("admin:pools_reservation_add"),
        {
            "ipam": ipam.pk,
            "address_family": "ipv4",
            "cidr": "192.168.3.0/24",
            "kind": "external",
            "name": "other",
            "note": "",
        },
    )

    assert response.status_code == 200
    assert Reservation.objects.count() == 1
    errors = response.context["adminform"].form.errors.as_data()["cidr"]
    assert [e.code for e in errors] == ["overlaps_reservation"]
