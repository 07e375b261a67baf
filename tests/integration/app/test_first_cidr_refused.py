from __future__ import annotations

from django.urls import reverse

from pools import services
from pools.models import IpamPool, PoolCreation


def test_a_first_cidr_aws_refuses_is_shown_once_and_polling_stops(demo, admin_client, sim):
    """The mirror said the block was free, but AWS had given it away meanwhile."""
    source = IpamPool.objects.get(name="us-west-2")
    taken = "10.24.0.0/16"
    rival = sim.call(
        "CreateIpamPool",
        IpamScopeId=source.scope.scope_id,
        AddressFamily="ipv4",
        SourceIpamPoolId=source.pool_id,
        Locale="us-west-2",
    )["IpamPool"]
    sim.call("DescribeIpamPools")
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=rival["IpamPoolId"], Cidr=taken)

    spec = services.PoolSpec(
        scope=source.scope, address_family="ipv4", source_pool=source, locale="us-west-2"
    )
    pool = services.pool_create(
        spec=spec, client_token="t-refused", first_cidr=services.FirstCidr(cidr=taken)
    )
    status_url = reverse("pool_status", args=[pool.pool_id])

    response = admin_client.get(status_url)
    response = admin_client.get(status_url)

    creation = PoolCreation.objects.get(client_token="t-refused")
    assert creation.error_code == "InvalidParameterValue"
    body = response.content.decode()
    assert "AWS refused to provision 10.24.0.0/16" in body
    assert "hx-trigger" not in body.split('id="pool-status"')[1].split(">")[0]
    assert source.allocations.filter(cidr=taken).exists()  # the mirror learned what AWS knows
