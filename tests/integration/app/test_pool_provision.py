"""Provisioning a CIDR from the pool page: checked here first, then AWS's answer shown."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from pools.models import IpamPool

pytestmark = pytest.mark.django_db


@pytest.fixture
def changer(client_may: Any) -> Client:
    return client_may("change_ipampool")


def provision(client: Client, pool: IpamPool, token: str = "t-1", **data: Any):
    fields = {"provision-client_token": token, "provision-cidr": "", "provision-netmask_length": ""}
    fields.update({f"provision-{k}": "" if v is None else str(v) for k, v in data.items()})
    return client.post(f"/pools/{pool.pool_id}/provision/", fields)


def field_error(html: str, field: str) -> str:
    match = re.search(rf'id="id_provision-{field}_error"[^>]*>(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", "", match[1]).strip() if match else ""


def test_a_top_level_pool_gets_a_cidr(changer):
    pool = IpamPool.objects.get(name="corporate")

    response = provision(changer, pool, cidr="172.16.0.0/12")

    assert response.status_code == 302
    assert pool.cidrs.filter(cidr="172.16.0.0/12").exists()
    assert "Provisioning 172.16.0.0/12" in changer.get(response["Location"]).content.decode()


def test_a_child_pool_takes_a_block_of_a_netmask_length_from_its_source(changer):
    pool = IpamPool.objects.get(name="us-west-2")  # 10.16.0.0/12 in corporate's 10.0.0.0/8

    response = provision(changer, pool, netmask_length=12)

    assert response.status_code == 302
    assert pool.cidrs.count() == 2


def test_a_double_submit_provisions_once(changer):
    pool = IpamPool.objects.get(name="us-west-2")

    provision(changer, pool, token="same", netmask_length=12)
    provision(changer, pool, token="same", netmask_length=12)

    assert pool.cidrs.count() == 2


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"cidr": "10.0.0.1/8"}, "cidr", "10.0.0.0/8"),
        ({"cidr": "2001:db8::/32"}, "cidr", "IPv4"),
        ({"cidr": "10.99.0.0/16", "netmask_length": 16}, "netmask_length", "not both"),
        ({"netmask_length": 40}, "netmask_length", "between 0 and 32"),
    ],
)
def test_input_mistakes_are_reported_next_to_their_field(changer, data, field, words):
    pool = IpamPool.objects.get(name="us-west-2")

    response = provision(changer, pool, **data)

    assert response.status_code == 200
    html = response.content.decode()
    assert words.lower() in field_error(html, field).lower(), field_error(html, field)
    assert "<details open>" in html
    if data.get("cidr"):
        assert f'value="{data["cidr"]}"' in html  # the input is kept
    assert pool.cidrs.count() == 1


def test_a_top_level_pool_has_no_netmask_field_and_needs_a_cidr(changer):
    pool = IpamPool.objects.get(name="corporate")

    html = provision(changer, pool).content.decode()

    assert 'name="provision-netmask_length"' not in html
    assert "exactly one of Cidr and NetmaskLength" in field_error(html, "cidr")


def test_a_cidr_outside_the_source_is_refused_before_aws_is_asked(changer, sim):
    pool = IpamPool.objects.get(name="us-west-2")
    outside = "192.168.0.0/16"  # not in the source pool's space
    calls = count_calls(sim)

    html = provision(changer, pool, token="first", cidr=outside).content.decode()

    assert "not inside a provisioned CIDR" in field_error(html, "cidr")
    assert f'value="{outside}"' in html
    token = re.search(r'name="provision-client_token" value="([^"]+)"', html)[1]
    assert token == "first", "AWS never saw it: the same request may go again"
    assert calls == []
    assert pool.cidrs.count() == 1


def test_aws_refusal_lands_on_the_field_and_the_next_try_is_new(changer, sim):
    pool = IpamPool.objects.get(name="us-west-2")
    source = pool.source_pool
    free = sim.call(
        "AllocateIpamPoolCidr", IpamPoolId=source.pool_id, NetmaskLength=16, PreviewNextCidr=True
    )["IpamPoolAllocation"]["Cidr"]
    # Taken in AWS since the mirror last looked: the check here passes, AWS refuses.
    sim.call("AllocateIpamPoolCidr", IpamPoolId=source.pool_id, Cidr=free)

    html = provision(changer, pool, token="first", cidr=free).content.decode()

    assert "overlaps" in field_error(html, "cidr")
    assert f'value="{free}"' in html
    token = re.search(r'name="provision-client_token" value="([^"]+)"', html)[1]
    assert token != "first"
    assert pool.cidrs.count() == 1


def count_calls(sim):
    calls = []
    handle = sim.handle
    sim.handle = lambda *args: calls.append(args) or handle(*args)
    return calls


def test_aws_unreachable_is_reported_not_a_500(changer, sim):
    pool = IpamPool.objects.get(name="corporate")
    sim.faults.update({"unreachable": True})

    response = provision(changer, pool, cidr="172.16.0.0/12")

    assert response.status_code == 200
    errors = re.search(r'id="provision-errors"[^>]*>(.*?)</div>', response.content.decode(), re.S)
    assert "AWS" in errors[1]
    assert not pool.cidrs.filter(cidr="172.16.0.0/12").exists()


def test_provisioning_needs_the_right_to_change_pools(client, django_user_model, demo):
    pool = IpamPool.objects.get(name="corporate")
    client.force_login(django_user_model.objects.create_user("viewer"))

    assert provision(client, pool, cidr="172.16.0.0/12").status_code == 403
    assert "Add space to this pool" not in client.get(f"/pools/{pool.pool_id}/").content.decode()
