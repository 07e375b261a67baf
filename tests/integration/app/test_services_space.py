"""Refresh, provision, allocate, release and delete, each saving what AWS answered."""

from __future__ import annotations

import pytest
from netaddr import IPNetwork

from pools import services, tasks
from pools.aws import AwsRefused, AwsUnavailable
from pools.models import IpamPool, IpamPoolAllocation, IpamPoolCidr, PoolCreation
from pools.services import FirstCidr, new_client_token
from tests.integration.app.conftest import aws_pool, pool_named, spec

pytestmark = pytest.mark.django_db


def test_refresh_reads_the_pool_its_cidrs_and_allocations_again(sim, demo):
    pool = pool_named("us-east-1-prod")
    allocation = pool.allocations.get(description="web VPC")
    sim.call(
        "ModifyIpamPool",
        IpamPoolId=pool.pool_id,
        Description="production",
        AllocationMaxNetmaskLength=26,
    )
    added = sim.call("AllocateIpamPoolCidr", IpamPoolId=pool.pool_id, NetmaskLength=26)
    sim.call(
        "ReleaseIpamPoolAllocation",
        IpamPoolId=pool.pool_id,
        IpamPoolAllocationId=allocation.allocation_id,
        Cidr=str(allocation.cidr),
    )

    refreshed = services.pool_refresh(pool=pool)

    assert refreshed.pk == pool.pk
    assert refreshed.description == "production"
    assert refreshed.allocation_max_netmask_length == 26
    assert refreshed.state == aws_pool(sim, pool.pool_id)["State"] == "modify-complete"
    allocation.refresh_from_db()
    assert allocation.missing_since is not None
    new = IpamPoolAllocation.objects.get(
        allocation_id=added["IpamPoolAllocation"]["IpamPoolAllocationId"]
    )
    assert (new.pool, new.cidr, new.missing_since) == (
        pool,
        IPNetwork(added["IpamPoolAllocation"]["Cidr"]),
        None,
    )
    assert pool.cidrs.filter(missing_since__isnull=True).count() == 1


def test_refresh_shows_a_failed_create(sim, private_scope):
    sim.config.create_delay = 60
    sim.faults.update({"fail_next_creates": 1, "fail_message": "no capacity"})
    pool = services.pool_create(spec=spec(private_scope), client_token=new_client_token())
    assert pool.state == "create-in-progress"
    assert pool.is_settling
    sim.clock = lambda: 10**12  # long after the create delay

    refreshed = services.pool_refresh(pool=pool)

    assert refreshed.state == "create-failed"
    assert refreshed.state_message == "no capacity"
    assert not refreshed.is_usable
    creation = PoolCreation.objects.get(pool=pool)
    assert (creation.status, creation.error_code, creation.error_message) == (
        "failed",
        "create-failed",
        "no capacity",
    )


def test_refresh_of_a_pool_aws_no_longer_has_marks_it_missing(sim, demo):
    pool = pool_named("ula-v6")
    sim.store.remove("pool", pool.pool_id)

    with pytest.raises(AwsRefused) as caught:
        services.pool_refresh(pool=pool)

    assert caught.value.code == "InvalidIpamPoolId.NotFound"
    pool.refresh_from_db()
    assert pool.missing_since is not None
    assert not pool.in_aws


def test_provision_a_cidr_into_a_top_level_pool(sim, private_scope):
    pool = services.pool_create(spec=spec(private_scope), client_token=new_client_token())
    services.pool_refresh(pool=pool)

    cidr = services.pool_provision_cidr(pool=pool, cidr="172.16.0.0/12")

    assert isinstance(cidr, IpamPoolCidr)
    assert (cidr.pool, cidr.cidr, cidr.netmask_length) == (pool, IPNetwork("172.16.0.0/12"), 12)
    assert cidr.state in ("pending-provision", "provisioned")
    in_aws = sim.call("GetIpamPoolCidrs", IpamPoolId=pool.pool_id)["IpamPoolCidrs"]
    assert [c["IpamPoolCidrId"] for c in in_aws] == [cidr.cidr_id]


def test_provision_a_block_from_the_source_pool_shows_in_the_source_pool(sim, demo, worker):
    regional = pool_named("eu-west-1")
    child = pool_named("eu-west-1-dev")
    before = set(regional.allocations.values_list("allocation_id", flat=True))

    cidr = services.pool_provision_cidr(pool=child, netmask_length=16)
    tasks.follow(child)
    worker()

    assert cidr.netmask_length == 16
    assert cidr.cidr
    new = regional.allocations.exclude(allocation_id__in=before).get()
    assert (new.cidr, new.resource_type, new.resource_id) == (cidr.cidr, "ipam-pool", child.pool_id)


def test_provision_refusals(sim, demo):
    pool = pool_named("us-east-1")

    with pytest.raises(AwsRefused) as caught:
        services.pool_provision_cidr(pool=pool, cidr="192.168.0.0/16")  # outside its source
    assert caught.value.member == "Cidr"

    with pytest.raises(AwsRefused) as caught:
        services.pool_provision_cidr(pool=pool)  # neither a CIDR nor a length
    assert caught.value.code == "InvalidParameterCombination"
    assert pool.cidrs.count() == 1


def test_first_cidr_is_provisioned_once_the_pool_is_usable(sim, private_scope):
    sim.config.create_delay = 60
    token = new_client_token()
    pool = services.pool_create(
        spec=spec(private_scope), client_token=token, first_cidr=FirstCidr(cidr="192.168.0.0/16")
    )

    services.pool_provision_first_cidr(pool=pool)  # still create-in-progress
    assert not pool.cidrs.exists()

    sim.clock = lambda: 10**12
    pool = services.pool_refresh(pool=pool)
    services.pool_provision_first_cidr(pool=pool)
    services.pool_provision_first_cidr(pool=pool)

    assert list(pool.cidrs.values_list("cidr", flat=True)) == [IPNetwork("192.168.0.0/16")]
    in_aws = sim.call("GetIpamPoolCidrs", IpamPoolId=pool.pool_id)["IpamPoolCidrs"]
    assert len(in_aws) == 1
    assert PoolCreation.objects.get(client_token=token).pool == pool


def test_allocate_with_the_default_netmask_and_with_a_cidr(sim, demo):
    pool = pool_named("us-west-2-dev")

    provisioned = sim.call("GetIpamPoolCidrs", IpamPoolId=pool.pool_id)["IpamPoolCidrs"]
    last_block = str(list(IPNetwork(provisioned[0]["Cidr"]).subnet(20))[-1])

    by_default = services.pool_allocate(pool=pool, description="batch VPC")
    explicit = services.pool_allocate(pool=pool, cidr=last_block)

    assert by_default.cidr.prefixlen == 24  # the pool's default netmask length
    assert (by_default.description, by_default.resource_type) == ("batch VPC", "custom")
    assert explicit.cidr == IPNetwork(last_block)
    in_aws = {
        a["IpamPoolAllocationId"]: a["Cidr"]
        for a in sim.call("GetIpamPoolAllocations", IpamPoolId=pool.pool_id)["IpamPoolAllocations"]
    }
    assert in_aws[by_default.allocation_id] == str(by_default.cidr)
    assert in_aws[explicit.allocation_id] == str(explicit.cidr)


def test_a_pool_without_a_locale_allocates(sim, demo):
    """C9: custom allocations need no locale."""
    pool = pool_named("corporate")
    count = pool.allocations.count()

    services.pool_allocate(pool=pool, netmask_length=16)

    assert pool.allocations.count() == count + 1


def test_release_an_allocation(sim, demo):
    allocation = pool_named("eu-west-1-prod").allocations.get(description="data VPC")

    services.allocation_release(allocation=allocation)

    allocation.refresh_from_db()
    assert allocation.missing_since is not None
    remaining = sim.call("GetIpamPoolAllocations", IpamPoolId=allocation.pool.pool_id)
    assert allocation.allocation_id not in {
        a["IpamPoolAllocationId"] for a in remaining["IpamPoolAllocations"]
    }


def test_release_refused_for_an_allocation_aws_does_not_have(sim, demo):
    allocation = pool_named("eu-west-1-prod").allocations.first()
    allocation.cidr = "10.99.99.0/24"

    with pytest.raises(AwsRefused) as caught:
        services.allocation_release(allocation=allocation)

    assert caught.value.code == "InvalidParameterCombination"
    allocation.refresh_from_db()
    assert allocation.missing_since is None


def test_delete_a_leaf_pool(sim, private_scope):
    pool = services.pool_create(spec=spec(private_scope), client_token=new_client_token())
    services.pool_refresh(pool=pool)
    sim.config.create_delay = 60

    deleted = services.pool_delete(pool=pool)

    assert deleted.pk == pool.pk
    assert deleted.state == aws_pool(sim, pool.pool_id)["State"] == "delete-in-progress"


def test_delete_without_cascade_refused_while_the_pool_has_children(sim, demo):
    pool = pool_named("us-east-1")

    with pytest.raises(AwsRefused) as caught:
        services.pool_delete(pool=pool)

    assert caught.value.code == "DependencyViolation"
    pool.refresh_from_db()
    assert pool.state == "create-complete"


def test_delete_with_cascade_takes_children_cidrs_and_allocations(sim, demo, worker, settings):
    sim.config.create_delay = 60
    settings.IPAM_FOLLOW_SECONDS = 0  # one look: AWS is still deleting
    pool = pool_named("us-west-2")
    children = list(pool.children.all())
    assert len(children) == 2

    deleted = services.pool_delete(pool=pool, cascade=True)
    tasks.follow(deleted)
    worker()
    deleted = pool_named("us-west-2")

    assert deleted.state == "delete-in-progress"
    for child in children:
        child.refresh_from_db()
        assert child.state == aws_pool(sim, child.pool_id)["State"] == "delete-in-progress"
    in_aws = sim.call("GetIpamPoolCidrs", IpamPoolId=pool.pool_id)["IpamPoolCidrs"]
    assert {(c.cidr_id, c.state) for c in deleted.cidrs.all()} == {
        (c["IpamPoolCidrId"], c["State"]) for c in in_aws
    }
    assert not deleted.allocations.filter(missing_since__isnull=True).exists()


def test_delete_with_cascade_succeeds_even_if_reading_back_fails(sim, demo, sent):
    pool = pool_named("eu-west-1")

    def go_offline(action):
        if action == "DeleteIpamPool":
            sent.hooks.clear()
            sim.faults.update({"deny_actions": {"DescribeIpamPools", "GetIpamPoolCidrs"}})

    sent.hooks.append(go_offline)

    deleted = services.pool_delete(pool=pool, cascade=True)

    assert deleted.state == "delete-in-progress"


def test_delete_when_aws_is_unreachable_changes_nothing(sim, demo):
    pool = pool_named("ula-v6")
    sim.faults.update({"unreachable": True})

    with pytest.raises(AwsUnavailable):
        services.pool_delete(pool=pool, cascade=True)

    assert IpamPool.objects.get(pk=pool.pk).state == "create-complete"
