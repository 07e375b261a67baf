"""Deleting a pool from its page: AWS first, its answer shown, nothing lost on a refusal."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from pools import services
from pools.models import IpamPool, IpamScope
from pools.services import PoolSpec

pytestmark = pytest.mark.django_db


@pytest.fixture
def deleter(client_may: Any) -> Client:
    return client_may("delete_ipampool")


def empty_pool(scope: IpamScope) -> IpamPool:
    spec = PoolSpec(scope=scope, address_family="ipv4", description="empty")
    return services.pool_create(spec=spec, client_token=services.new_client_token())


def delete(client: Client, pool: IpamPool, **data: str):
    return client.post(f"/pools/{pool.pool_id}/delete/", data)


def test_an_empty_pool_is_deleted(deleter, private_scope, sim):
    pool = empty_pool(private_scope)

    response = delete(deleter, pool)

    assert response.status_code == 302
    assert response["Location"] == f"/pools/{pool.pool_id}/"
    pool.refresh_from_db()
    assert pool.is_deleting
    aws = sim.call("DescribeIpamPools", IpamPoolIds=[pool.pool_id])["IpamPools"][0]
    assert aws["State"] in ("delete-in-progress", "delete-complete")
    page = deleter.get(response["Location"]).content.decode()
    assert f"Deleting {pool.pool_id}" in page
    assert "Delete this pool" not in page  # nothing more to delete


def test_a_refusal_is_shown_with_the_choice_kept(deleter, private_scope):
    pool = IpamPool.objects.get(name="us-east-1")  # has CIDRs and child pools

    response = delete(deleter, pool)

    assert response.status_code == 200
    html = response.content.decode()
    assert "AWS did not delete this pool" in html
    assert "child pools in the pool" in html
    assert "<details open>" in html
    assert 'name="cascade" id="id_cascade" aria-describedby="cascade-help" >' in html
    pool.refresh_from_db()
    assert pool.state == "create-complete"


def test_a_refused_cascade_stays_checked(deleter, public_scope):
    spec = PoolSpec(
        scope=public_scope, address_family="ipv6", aws_service="ec2", public_ip_source="amazon"
    )
    pool = services.pool_create(spec=spec, client_token=services.new_client_token())

    html = delete(deleter, pool, cascade="on").content.decode()

    assert "Cascade is allowed only" in html
    assert 'aria-describedby="cascade-help" checked>' in html


def test_cascade_deletes_the_pool_and_its_children(deleter, private_scope, worker):
    pool = IpamPool.objects.get(name="us-east-1")
    children = list(pool.children.all())

    response = delete(deleter, pool, cascade="on")
    worker(limit=1)  # the task worker follows the deletion

    assert response.status_code == 302
    assert children
    for row in [pool, *children]:
        row.refresh_from_db()
        assert not row.in_aws, row  # AWS deleted them: gone from the tree and the counts


def test_aws_unreachable_is_reported_not_a_500(deleter, private_scope, sim):
    pool = empty_pool(private_scope)
    sim.faults.update({"unreachable": True})

    response = delete(deleter, pool)

    assert response.status_code == 200
    assert "AWS did not delete this pool" in response.content.decode()
    pool.refresh_from_db()
    assert not pool.is_deleting


def test_a_second_submit_asks_aws_nothing(deleter, private_scope, sent):
    pool = empty_pool(private_scope)
    delete(deleter, pool)
    before = sent.count("DeleteIpamPool")

    response = delete(deleter, pool)

    assert response.status_code == 302
    assert sent.count("DeleteIpamPool") == before == 1
    assert "already being deleted" in deleter.get(response["Location"]).content.decode()


def test_deleting_needs_the_right_to(client, django_user_model, private_scope):
    pool = IpamPool.objects.get(name="us-east-1")
    client.force_login(django_user_model.objects.create_user("viewer"))

    assert delete(client, pool).status_code == 403
    assert "Delete this pool" not in client.get(f"/pools/{pool.pool_id}/").content.decode()
    pool.refresh_from_db()
    assert pool.state == "create-complete"


def test_only_a_post_deletes(deleter, private_scope):
    pool = IpamPool.objects.get(name="us-east-1")

    assert deleter.get(f"/pools/{pool.pool_id}/delete/").status_code == 405
