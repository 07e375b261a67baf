"""The reservation ledger in the pools app: the creation form, provisioning and allocating
refuse a reserved block, naming its holder (the app's rule ``cidr_reserved``, not AWS's), and
the free-space views (the tree, the address map, the creation form's plan) show reserved
blocks as reserved and never offer them.

The demo's us-east-1 pool is 10.0.0.0/12 with its prod and dev pools in 10.0.0.0/13: its free
space is 10.8.0.0 - 10.15.255.255, and it hands out /14 to /20.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from netaddr import IPNetwork

from pools.ledger import LEDGER_CODE
from pools.models import Ipam, IpamPool, PoolCreation, Reservation
from tests.integration.app.conftest import pool_named
from tests.integration.app.pool_form_support import HX, Answer, form_data, live

pytestmark = pytest.mark.django_db


def reserve(cidr: str, name: str = "datacenter", kind: str = "external", **kw: Any):
    family = "ipv6" if ":" in cidr else "ipv4"
    return Reservation.objects.create(
        ipam=kw.pop("ipam", None) or Ipam.objects.get(ipam_id=pool_named("corporate").ipam.ipam_id),
        address_family=family,
        cidr=IPNetwork(cidr),
        kind=kind,
        name=name,
        **kw,
    )


def aws_pool_count(sim: Any) -> int:
    return len(sim.store.objects["pool"])


@pytest.fixture
def changer(client_may: Any) -> Client:
    return client_may("change_ipampool")


# --- the creation form -------------------------------------------------------------------


def create(client: Client, **values: Any):
    data = form_data(source=pool_named("us-east-1"), **values)
    return client.post(reverse("pool_new"), data)


@pytest.mark.parametrize(
    ("held", "kind", "first_cidr"),
    [
        ("10.8.0.0/14", "external", "10.8.0.0/16"),  # inside an external network
        ("10.8.0.0/16", "plan", "10.8.0.0/14"),  # over a plan's block, even whole
        ("10.8.0.0/14", "excluded", "10.9.0.0/16"),  # inside an excluded range
    ],
)
def test_the_creation_form_refuses_a_reserved_block_naming_its_holder(
    editor, sim, held, kind, first_cidr
):
    reserve(held, name="plan q3: vpc" if kind == "plan" else "office-nyc", kind=kind)
    before = aws_pool_count(sim)

    response = create(editor, first_cidr=first_cidr)

    assert response.status_code == 200
    answer = Answer.of(response.content.decode())
    assert answer.field_codes("first_cidr") == [LEDGER_CODE]
    holder = "q3" if kind == "plan" else "office-nyc"
    assert holder in answer["id_first_cidr_error"].text
    assert answer.named("first_cidr")[0].attrs["value"] == first_cidr  # kept
    assert aws_pool_count(sim) == before
    assert not PoolCreation.objects.exists()


def test_a_new_pool_may_hold_an_external_network_whole(editor, sim):
    reserve("10.8.4.0/24")  # e.g. on-premises space kept inside a pool

    before = aws_pool_count(sim)

    response = create(editor, first_cidr="10.8.0.0/16")

    assert response.status_code == 302
    assert aws_pool_count(sim) == before + 1


def test_a_block_aws_would_pick_by_length_that_is_reserved_is_refused_with_another(editor, sim):
    reserve("10.8.0.0/15")
    before = aws_pool_count(sim)

    response = create(editor, first_netmask_length=16)

    answer = Answer.of(response.content.decode())
    assert answer.field_codes("first_netmask_length") == [LEDGER_CODE]
    assert "10.10.0.0/16" in answer["id_first_netmask_length_error"].text
    assert aws_pool_count(sim) == before


def test_the_live_check_says_so_as_the_user_types(editor):
    reserve("10.8.0.0/14")
    data = form_data(source=pool_named("us-east-1"), first_cidr="10.9.0.0/16")

    answer = live(editor, data, "first_cidr")

    assert answer.field_codes("first_cidr") == [LEDGER_CODE]


def test_other_ipams_and_the_other_family_hold_nothing_here(editor):
    reserve("fd00:ec2::/48")
    other = Ipam.objects.create(ipam_id="ipam-0fedcba98765432100", region="us-east-1")
    reserve("10.8.0.0/14", ipam=other)

    assert create(editor, first_cidr="10.8.0.0/16").status_code == 302


# --- provisioning and allocating ---------------------------------------------------------


def provision(client: Client, pool: IpamPool, **data: Any):
    fields = {"provision-client_token": "t-1", "provision-cidr": "", "provision-netmask_length": ""}
    fields.update({f"provision-{k}": str(v) for k, v in data.items()})
    return client.post(reverse("pool_provision", args=[pool.pool_id]), fields)


def allocate(client: Client, pool: IpamPool, **data: Any):
    fields = {
        "allocate-client_token": "t-1",
        "allocate-cidr": "",
        "allocate-netmask_length": "",
        "allocate-allowed_cidrs": "",
        "allocate-disallowed_cidrs": "",
        "allocate-description": "",
    }
    fields.update({f"allocate-{k}": str(v) for k, v in data.items()})
    return client.post(reverse("pool_allocate", args=[pool.pool_id]), fields)


@pytest.mark.parametrize(
    ("data", "field"),
    [({"cidr": "10.8.0.0/16"}, "cidr"), ({"netmask_length": 14}, "netmask_length")],
)
def test_provisioning_a_reserved_block_is_refused(changer, data, field):
    reserve("10.8.0.0/13")  # all of us-east-1's free space
    pool = pool_named("us-east-1-prod")  # takes its CIDRs from us-east-1
    before = pool.cidrs.count()

    response = provision(changer, pool, **data)

    assert response.status_code == 200
    assert Answer.of(response.content.decode()).field_codes(f"provision-{field}") == [LEDGER_CODE]
    assert pool.cidrs.count() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"cidr": "10.0.2.0/24"}, "cidr"),
        ({"cidr": "10.0.2.0/23"}, "cidr"),  # an allocation holds nothing reserved, not even whole
        ({"netmask_length": 24}, "netmask_length"),  # AWS would take 10.0.2.0/24
        ({}, "netmask_length"),  # the pool's default, /24, likewise
    ],
)
def test_allocating_a_reserved_block_is_refused(changer, sim, data, field):
    reserve("10.0.2.0/24", name="partner-vpn")
    pool = pool_named("us-east-1-prod")
    before = pool.allocations.count()

    response = allocate(changer, pool, **data)

    assert response.status_code == 200
    answer = Answer.of(response.content.decode())
    assert answer.field_codes(f"allocate-{field}") == [LEDGER_CODE]
    assert "partner-vpn" in answer[f"id_allocate-{field}_error"].text
    assert pool.allocations.count() == before


def test_allocating_around_a_reserved_block_is_fine(changer):
    reserve("10.0.2.0/24")
    pool = pool_named("us-east-1-prod")

    response = allocate(changer, pool, netmask_length=24, disallowed_cidrs="10.0.2.0/24")

    assert response.status_code == 302
    assert pool.allocations.filter(cidr="10.0.3.0/24").exists()


# --- the free-space views ----------------------------------------------------------------


def tree_rows(client: Client, pool: IpamPool) -> list[Any]:
    url = reverse("tree_children", args=[pool.scope.scope_id, pool.pool_id])
    response = client.get(url, **HX)
    assert response.status_code == 200
    return [e for e in Answer.of(response.content.decode()).elements if e.tag == "li"]


def test_the_tree_shows_reserved_space_with_its_holder_and_offers_none_of_it(admin_client, demo):
    reserve("10.8.0.0/15", name="datacenter-ashburn")
    reserve("10.12.0.0/16", name="plan q3: vpc", kind="plan", plan_id=7)

    rows = tree_rows(admin_client, pool_named("us-east-1"))

    reserved = [r for r in rows if "reserved" in r.attrs.get("class", "").split()]
    assert [r.attrs["data-range"] for r in reserved] == [
        "10.8.0.0-10.9.255.255",
        "10.12.0.0-10.12.255.255",
    ]
    assert "datacenter-ashburn" in reserved[0].text
    assert "q3" in reserved[1].text
    assert not any(c.tag == "a" for r in reserved for c in r.children)
    free = [r for r in rows if r.attrs.get("class", "").split() == ["free"]]
    assert [r.attrs["data-range"] for r in free] == [
        "10.10.0.0-10.11.255.255",
        "10.13.0.0-10.15.255.255",
    ]
    offers = [c.attrs["href"] for r in free for c in r.children if c.tag == "a"]
    assert offers  # the free space is still offered
    assert not any("10.8." in href or "10.12." in href for href in offers)


def test_reserved_space_inside_an_allocation_is_not_free_anyway(admin_client, demo):
    reserve("10.0.0.0/24")  # inside us-east-1-prod, which is allocated in us-east-1

    rows = tree_rows(admin_client, pool_named("us-east-1"))

    assert not any("reserved" in r.attrs.get("class", "") for r in rows)


def test_the_tree_reads_the_ledger_once_whatever_its_size(
    admin_client, demo, django_assert_max_num_queries
):
    pool = pool_named("us-east-1")
    reserve("10.8.0.0/24")
    tree_rows(admin_client, pool)
    with django_assert_max_num_queries(9) as few:
        tree_rows(admin_client, pool)
    Reservation.objects.bulk_create(
        Reservation(ipam=pool.ipam, address_family="ipv4", cidr=IPNetwork(f"10.9.{i}.0/24"))
        for i in range(200)
    )
    with django_assert_max_num_queries(len(few)):
        rows = tree_rows(admin_client, pool)
    assert sum("reserved" in r.attrs.get("class", "") for r in rows) == 201


def test_the_address_map_draws_reserved_space_without_an_offer(admin_client, demo):
    reserve("10.8.0.0/15", name="datacenter-ashburn")

    response = admin_client.get(reverse("pool_map", args=[pool_named("us-east-1").pool_id]))

    html = response.content.decode()
    assert '<g class="reserved"><title>10.8.0.0/15 · reserved: datacenter-ashburn' in html
    assert "cidr=10.8." not in html
    assert "cidr=10.12.0.0%2F14" in html  # the free space after it is offered


def test_the_plan_panel_lists_reserved_blocks_and_suggests_around_them(editor):
    reserve("10.8.0.0/15", name="datacenter-ashburn")
    source = pool_named("us-east-1")

    response = editor.get(reverse("pool_new"), {"source": source.pool_id})

    plan = response.context["plan"]
    assert plan.reserved_blocks == (("10.8.0.0/15", "datacenter-ashburn (external network)"),)
    assert plan.next_free_cidr == "10.12.0.0/14"
    assert not any(IPNetwork(b) in IPNetwork("10.8.0.0/15") for b in plan.free_blocks)
    assert "datacenter-ashburn" in Answer.of(response.content.decode())["plan-reserved"].text
