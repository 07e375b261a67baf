"""The first CIDR of a new pool, asked for at creation and provisioned by the task worker once
the pool is usable: what happens when AWS has given the block away meanwhile."""

from __future__ import annotations

from django.urls import reverse

from pools import services, tasks
from pools.models import IpamPool, PoolCreation


def create(source: IpamPool, token: str, cidr: str = "", length: int | None = None) -> IpamPool:
    spec = services.PoolSpec(
        scope=source.scope, address_family="ipv4", source_pool=source, locale=source.locale
    )
    pool = services.pool_create(
        spec=spec, client_token=token, first_cidr=services.FirstCidr(cidr, length)
    )
    tasks.follow(pool)
    return pool


def test_many_new_pools_that_chose_the_same_free_block_each_get_one(demo, sim, worker):
    """Eight people press "Use it" on the same suggestion (us-west-2 has room for eight more
    /16s): one gets it, every other pool the next free block of that size, and says so."""
    source = IpamPool.objects.get(name="us-west-2")
    suggested = "10.24.0.0/16"
    pools = [create(source, f"t-race-{n}", suggested) for n in range(8)]

    worker()

    cidrs = [p.cidrs.get().cidr for p in pools]
    assert None not in cidrs
    assert len(set(cidrs)) == 8
    assert str(cidrs[0]) == suggested
    notes = [PoolCreation.objects.get(pool=p).first_cidr_note for p in pools]
    assert notes[0] == ""
    assert all(f"{suggested} was taken meanwhile" in note for note in notes[1:])
    assert all(
        note.endswith(f"{cidr}, instead.") for note, cidr in zip(notes[1:], cidrs[1:], strict=True)
    )


def test_a_first_cidr_aws_refuses_is_shown_once_and_polling_stops(demo, admin_client, sim, worker):
    source = IpamPool.objects.get(name="us-west-2")  # allocations of /12 to /20 only
    pool = create(source, "t-refused", length=24)

    worker()
    response = admin_client.get(reverse("pool_status", args=[pool.pool_id]))

    creation = PoolCreation.objects.get(client_token="t-refused")
    assert creation.error_code == "InvalidParameterValue"
    body = response.content.decode()
    assert "AWS refused to provision a /24" in body
    assert "hx-trigger" not in body.split('id="pool-status"')[1].split(">")[0]
