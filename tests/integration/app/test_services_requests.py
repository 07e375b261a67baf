"""The exact requests the services send, checked with botocore's Stubber."""

from __future__ import annotations

import pytest
from botocore.stub import ANY, Stubber

from pools import services
from pools.aws import AwsRefused, ec2_client
from pools.models import PoolCreation
from pools.services import new_client_token
from tests.integration.app.conftest import pool_named, spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def stub(demo):
    client = ec2_client()
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def answer(scope, pool_id="ipam-pool-0123456789abcdef0", **members):
    """A CreateIpamPool answer for a pool in ``scope``, as AWS shapes it."""
    return {
        "IpamPool": {
            "OwnerId": scope.owner_id,
            "IpamPoolId": pool_id,
            "IpamPoolArn": f"arn:aws:ec2::{scope.owner_id}:ipam-pool/{pool_id}",
            "IpamScopeArn": scope.arn,
            "IpamScopeType": scope.scope_type,
            "IpamArn": scope.ipam.arn,
            "IpamRegion": scope.ipam.region,
            "Locale": "None",
            "PoolDepth": 1,
            "State": "create-in-progress",
            "AutoImport": False,
            "AddressFamily": "ipv4",
            "AllocationMinNetmaskLength": 0,
            "AllocationMaxNetmaskLength": 32,
            **members,
        }
    }


def test_create_sends_exactly_the_members_given(stub, private_scope):
    source = pool_named("eu-west-1")
    token = new_client_token()
    stub.add_response(
        "create_ipam_pool",
        answer(private_scope, Locale="eu-west-1", SourceIpamPoolId=source.pool_id, PoolDepth=3),
        {
            "IpamScopeId": private_scope.scope_id,
            "AddressFamily": "ipv4",
            "SourceIpamPoolId": source.pool_id,
            "Locale": "eu-west-1",
            "Description": "analytics",
            "AutoImport": True,
            "AllocationMinNetmaskLength": 16,
            "AllocationMaxNetmaskLength": 28,
            "AllocationDefaultNetmaskLength": 24,
            "AllocationResourceTags": [{"Key": "env", "Value": "prod"}],
            "TagSpecifications": [
                {
                    "ResourceType": "ipam-pool",
                    "Tags": [{"Key": "Name", "Value": "analytics"}, {"Key": "owner", "Value": ""}],
                }
            ],
            "ClientToken": token,
        },
    )

    pool = services.pool_create(
        spec=spec(
            private_scope,
            source_pool=source,
            locale="eu-west-1",
            description="analytics",
            auto_import=True,
            allocation_min_netmask_length=16,
            allocation_max_netmask_length=28,
            allocation_default_netmask_length=24,
            allocation_resource_tags={"env": "prod"},
            tags={"Name": "analytics", "owner": ""},
        ),
        client_token=token,
    )

    assert pool.pool_id == "ipam-pool-0123456789abcdef0"
    assert pool.source_pool == source
    assert pool.locale == "eu-west-1"


@pytest.mark.parametrize("locale", ["", "None"])
def test_create_omits_empty_members_and_the_none_locale(stub, private_scope, locale):
    token = new_client_token()
    stub.add_response(
        "create_ipam_pool",
        answer(private_scope),
        {"IpamScopeId": private_scope.scope_id, "AddressFamily": "ipv4", "ClientToken": token},
    )

    pool = services.pool_create(
        spec=spec(
            private_scope,
            locale=locale,
            description="",
            auto_import=False,
            allocation_resource_tags={},
            tags={},
            public_ip_source="",
            aws_service="",
            source_resource=None,
        ),
        client_token=token,
    )

    assert pool.locale == ""
    assert PoolCreation.objects.get(client_token=token).request == {
        "IpamScopeId": private_scope.scope_id,
        "AddressFamily": "ipv4",
    }


def test_create_sends_zero_netmasks_and_false_booleans_it_was_given(stub, private_scope):
    token = new_client_token()
    stub.add_response(
        "create_ipam_pool",
        answer(private_scope, AddressFamily="ipv6", AllocationMaxNetmaskLength=128),
        {
            "IpamScopeId": private_scope.scope_id,
            "AddressFamily": "ipv6",
            "AllocationMinNetmaskLength": 0,
            "PubliclyAdvertisable": False,
            "ClientToken": token,
        },
    )

    services.pool_create(
        spec=spec(
            private_scope,
            address_family="ipv6",
            allocation_min_netmask_length=0,
            publicly_advertisable=False,
        ),
        client_token=token,
    )


def test_create_sends_public_members(stub, public_scope):
    token = new_client_token()
    stub.add_response(
        "create_ipam_pool",
        answer(public_scope, PublicIpSource="amazon", AwsService="ec2"),
        {
            "IpamScopeId": public_scope.scope_id,
            "AddressFamily": "ipv4",
            "PublicIpSource": "amazon",
            "AwsService": "ec2",
            "ClientToken": token,
        },
    )

    pool = services.pool_create(
        spec=spec(public_scope, public_ip_source="amazon", aws_service="ec2"), client_token=token
    )

    assert (pool.public_ip_source, pool.aws_service) == ("amazon", "ec2")


def test_dry_run_sends_the_request_with_dry_run(stub, private_scope):
    stub.add_client_error(
        "create_ipam_pool",
        service_error_code="DryRunOperation",
        service_message="Request would have succeeded, but DryRun flag is set.",
        http_status_code=412,
        expected_params={
            "DryRun": True,
            "IpamScopeId": private_scope.scope_id,
            "AddressFamily": "ipv4",
            "Description": "probe",
        },
    )

    assert services.pool_check_permissions(spec=spec(private_scope, description="probe"))


def test_dry_run_passes_other_refusals_on(stub, private_scope):
    stub.add_client_error(
        "create_ipam_pool",
        service_error_code="InvalidIpamScopeId.NotFound",
        service_message="The ipam-scope ID 'x' does not exist",
    )

    with pytest.raises(AwsRefused) as caught:
        services.pool_check_permissions(spec=spec(private_scope))

    assert caught.value.member == "IpamScopeId"


def test_provision_allocate_release_and_delete_requests(stub, demo):
    pool = pool_named("us-east-1-prod")
    allocation = pool.allocations.first()
    cidr = {"Cidr": "10.1.0.0/16", "State": "pending-provision", "IpamPoolCidrId": "cidr-1"}
    stub.add_response(
        "provision_ipam_pool_cidr",
        {"IpamPoolCidr": cidr},
        {"IpamPoolId": pool.pool_id, "Cidr": "10.1.0.0/16", "ClientToken": "t-cidr"},
    )
    stub.add_response(
        "provision_ipam_pool_cidr",
        {"IpamPoolCidr": {**cidr, "IpamPoolCidrId": "c2"}},
        {"IpamPoolId": pool.pool_id, "NetmaskLength": 20},
    )
    stub.add_response(
        "allocate_ipam_pool_cidr",
        {
            "IpamPoolAllocation": {
                "Cidr": "10.0.9.0/24",
                "IpamPoolAllocationId": "ipam-pool-alloc-1",
                "ResourceType": "custom",
            }
        },
        {
            "IpamPoolId": pool.pool_id,
            "NetmaskLength": 24,
            "Description": "new VPC",
            "ClientToken": ANY,
        },
    )
    stub.add_response(
        "release_ipam_pool_allocation",
        {"Success": True},
        {
            "IpamPoolId": pool.pool_id,
            "IpamPoolAllocationId": allocation.allocation_id,
            "Cidr": str(allocation.cidr),
        },
    )
    stub.add_response(
        "delete_ipam_pool",
        answer(pool.scope, pool_id=pool.pool_id, State="delete-in-progress"),
        {"IpamPoolId": pool.pool_id, "Cascade": False},
    )

    services.pool_provision_cidr(pool=pool, cidr="10.1.0.0/16", client_token="t-cidr")
    services.pool_provision_cidr(pool=pool, netmask_length=20)
    services.pool_allocate(pool=pool, netmask_length=24, description="new VPC")
    services.allocation_release(allocation=allocation)
    deleted = services.pool_delete(pool=pool)

    assert deleted.state == "delete-in-progress"
