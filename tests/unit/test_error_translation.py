"""AWS's answers, translated into domain errors: the class, the code and the member concerned."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.stub import Stubber

from pools import rules
from pools.aws.errors import (
    AwsError,
    AwsNotAuthorised,
    AwsRefused,
    AwsUnavailable,
    call_aws,
    translate,
)

STATUS = {
    "DryRunOperation": 412,
    "UnauthorizedOperation": 403,
    "RequestLimitExceeded": 503,
    "InternalError": 500,
}


def client_error(code: str, message: str = "", status: int | None = None) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status or STATUS.get(code, 400)},
        },
        "CreateIpamPool",
    )


def violation_error(violation: rules.Violation) -> ClientError:
    """The error the local endpoint answers with for a broken rule."""
    return client_error(violation.aws_code, violation.message)


def only(violations: list[rules.Violation]) -> rules.Violation:
    assert len(violations) == 1, violations
    return violations[0]


SOURCE = rules.SourcePoolFacts(
    pool_id="ipam-pool-0123456789abcdef0",
    scope_id="ipam-scope-0123456789abcdef0",
    address_family="ipv4",
    state="create-complete",
    pool_depth=1,
    locale="us-east-1",
)

# (error code, message, expected class, expected member)
AWS_ANSWERS = [
    pytest.param(
        "InvalidIpamScopeId.NotFound",
        "The ipam-scope ID 'ipam-scope-0123456789abcdef0' does not exist",
        AwsRefused,
        "IpamScopeId",
        id="scope-not-found",
    ),
    pytest.param(
        "InvalidIpamPoolId.NotFound",
        "The ipam-pool ID 'ipam-pool-0123456789abcdef0' does not exist",
        AwsRefused,
        "SourceIpamPoolId",
        id="source-pool-not-found",
    ),
    pytest.param(
        "InvalidParameterCombination",
        rules.PUBLICLY_ADVERTISABLE_MESSAGE,
        AwsRefused,
        "PubliclyAdvertisable",
        id="publicly-advertisable",
    ),
    pytest.param(
        "IncorrectState",
        "The pool ipam-pool-0123456789abcdef0 is in the state create-in-progress.",
        AwsRefused,
        "SourceIpamPoolId",
        id="incorrect-state",
    ),
    pytest.param(
        "IdempotentParameterMismatch",
        "The client token 'abc' was already used with other parameters.",
        AwsRefused,
        None,
        id="idempotent-mismatch",
    ),
    pytest.param(
        "DryRunOperation",
        "Request would have succeeded, but DryRun flag is set.",
        AwsRefused,
        None,
        id="dry-run",
    ),
    pytest.param(
        "UnauthorizedOperation",
        "You are not authorized to perform this operation.",
        AwsNotAuthorised,
        None,
        id="unauthorized",
    ),
    pytest.param(
        "RequestLimitExceeded", "Request limit exceeded.", AwsUnavailable, None, id="throttled"
    ),
    pytest.param(
        "ConcurrentMutationLimitExceeded",
        "There are too many concurrent mutations for the requested resource. Try again later.",
        AwsUnavailable,
        None,
        id="concurrent-mutations",
    ),
    pytest.param(
        "LimitExceeded",
        "The scope ipam-scope-0123456789abcdef0 already has the maximum of 50 pools.",
        AwsRefused,
        None,
        id="quota",
    ),
    pytest.param(
        "InternalError", "An internal error has occurred.", AwsUnavailable, None, id="internal"
    ),
]


@pytest.mark.parametrize(("code", "message", "kind", "member"), AWS_ANSWERS)
def test_each_aws_error_code(code, message, kind, member):
    error = translate(client_error(code, message))

    assert type(error) is kind
    assert error.code == code
    assert error.member == member
    assert error.message


# Each CreateIpamPool rule the endpoint enforces, as the violation it answers with, and the
# member the translated error must point at.
RULE_ANSWERS = [
    pytest.param(
        only(rules.check_netmask_lengths("ipv4", 28, 16, None)),
        "AllocationMinNetmaskLength",
        id="netmask-min-gt-max",
    ),
    pytest.param(
        only(rules.check_netmask_lengths("ipv4", 16, 28, 8)),
        "AllocationDefaultNetmaskLength",
        id="netmask-default-outside",
    ),
    pytest.param(
        only(
            rules.check_locale(
                "eu-north-1",
                operating_regions=["us-east-1"],
                address_family="ipv4",
                scope_type="private",
            )
        ),
        "Locale",
        id="locale-not-operating",
    ),
    pytest.param(
        only(
            rules.check_locale(
                "us-east-1-bos-1",
                operating_regions=["us-east-1"],
                address_family="ipv4",
                scope_type="private",
            )
        ),
        "Locale",
        id="locale-local-zone",
    ),
    pytest.param(
        only(
            rules.check_locale(
                "us-west-2",
                operating_regions=["us-east-1", "us-west-2"],
                address_family="ipv4",
                scope_type="private",
                source=SOURCE,
            )
        ),
        "Locale",
        id="locale-differs-from-source",
    ),
    pytest.param(only(rules.check_tags([("aws:x", "1")])), "TagSpecifications", id="tag-aws"),
    pytest.param(only(rules.check_tags([("k" * 129, "")])), "TagSpecifications", id="tag-key"),
    pytest.param(only(rules.check_tags([("k", "v" * 257)])), "TagSpecifications", id="tag-value"),
    pytest.param(
        only(rules.check_tags([(f"k{i}", "") for i in range(51)])),
        "TagSpecifications",
        id="tag-count",
    ),
    pytest.param(only(rules.check_depth(11)), "SourceIpamPoolId", id="depth"),
    pytest.param(
        only(
            rules.check_source_pool(
                SOURCE, scope_id="ipam-scope-ffffffffffffffff0", address_family="ipv4"
            )
        ),
        "SourceIpamPoolId",
        id="source-other-scope",
    ),
    pytest.param(
        only(rules.check_source_pool(SOURCE, scope_id=SOURCE.scope_id, address_family="ipv6")),
        "SourceIpamPoolId",
        id="source-other-family",
    ),
    pytest.param(
        only(
            rules.check_public_members(
                scope_type="private",
                address_family="ipv6",
                publicly_advertisable=True,
                public_ip_source=None,
                aws_service=None,
            )
        ),
        "PubliclyAdvertisable",
        id="publicly-advertisable-private",
    ),
    pytest.param(
        only(
            rules.check_public_members(
                scope_type="private",
                address_family="ipv4",
                publicly_advertisable=None,
                public_ip_source="byoip",
                aws_service=None,
            )
        ),
        "PublicIpSource",
        id="public-ip-source-private",
    ),
    pytest.param(
        only(
            rules.check_public_members(
                scope_type="private",
                address_family="ipv4",
                publicly_advertisable=None,
                public_ip_source=None,
                aws_service="ec2",
            )
        ),
        "AwsService",
        id="aws-service-private",
    ),
    pytest.param(
        only(
            rules.check_source_resource(
                {"ResourceId": "vpc-1", "ResourceRegion": "us-west-2"}, source=SOURCE
            )
        ),
        "SourceResource",
        id="source-resource-region",
    ),
    pytest.param(
        only(rules.check_source_resource({"ResourceId": "vpc-1"}, source=None)),
        "SourceResource",
        id="source-resource-without-source",
    ),
    pytest.param(
        only(rules.check_client_token("x" * 65)),
        "ClientToken",
        id="client-token",
    ),
]


@pytest.mark.parametrize(("violation", "member"), RULE_ANSWERS)
def test_rule_answers_point_at_the_member(violation, member):
    error = translate(violation_error(violation))

    assert type(error) is AwsRefused
    assert error.code == violation.aws_code
    assert error.member == member == violation.field


@pytest.mark.parametrize(
    "member",
    ["AllocationMinNetmaskLength", "AllocationMaxNetmaskLength", "AllocationDefaultNetmaskLength"],
)
def test_netmask_out_of_range_points_at_the_member_sent(member):
    params = {
        "IpamScopeId": "ipam-scope-0123456789abcdef0",
        "AddressFamily": "ipv4",
        "AllocationMinNetmaskLength": 8,
        "AllocationMaxNetmaskLength": 28,
        "AllocationDefaultNetmaskLength": 24,
        member: 40,
    }
    violations = rules.check_netmask_lengths(
        "ipv4",
        params["AllocationMinNetmaskLength"],
        params["AllocationMaxNetmaskLength"],
        params["AllocationDefaultNetmaskLength"],
    )
    exc = violation_error(only(violations))

    def refuse(**_):
        raise exc

    with pytest.raises(AwsRefused) as caught:
        call_aws(refuse, **params)

    assert caught.value.code == "InvalidParameterValue"
    assert caught.value.member == member


@pytest.mark.parametrize(
    ("parameter", "member"),
    [
        ("AddressFamily", "AddressFamily"),
        ("PublicIpSource", "PublicIpSource"),
        ("AwsService", "AwsService"),
        ("Locale", "Locale"),
    ],
)
def test_invalid_enum_value_points_at_the_parameter(parameter, member):
    message = f"Value (bogus) for parameter {parameter} is invalid. Expected one of: a, b."
    error = translate(client_error("InvalidParameterValue", message))

    assert type(error) is AwsRefused
    assert error.member == member


def test_unknown_code_is_a_refusal_with_no_member():
    error = translate(client_error("SomethingNew", "Something went wrong."))

    assert type(error) is AwsRefused
    assert error.code == "SomethingNew"
    assert error.member is None


def test_any_server_error_is_unavailable():
    error = translate(client_error("ServiceUnavailable", "Try later.", status=503))

    assert type(error) is AwsUnavailable
    assert error.retryable


@pytest.mark.parametrize(
    ("exc", "kind", "code"),
    [
        (EndpointConnectionError(endpoint_url="https://ec2.x"), AwsUnavailable, "Unreachable"),
        (ConnectTimeoutError(endpoint_url="https://ec2.x"), AwsUnavailable, "Unreachable"),
        (ReadTimeoutError(endpoint_url="https://ec2.x"), AwsUnavailable, "Timeout"),
        (NoCredentialsError(), AwsNotAuthorised, "NoCredentials"),
    ],
    ids=["endpoint-connection", "connect-timeout", "read-timeout", "no-credentials"],
)
def test_connection_and_credential_failures(exc, kind, code):
    error = translate(exc)

    assert type(error) is kind
    assert error.code == code
    assert error.member is None
    assert error.retryable is (kind is AwsUnavailable)


def test_request_rejected_before_sending_is_a_refusal():
    exc = ParamValidationError(report="Invalid type for parameter NetmaskLength, value: None")

    error = translate(exc)

    assert type(error) is AwsRefused
    assert not error.retryable
    assert error.member == "NetmaskLength"


def test_call_aws_returns_the_answer_and_raises_translated_errors():
    assert call_aws(lambda **params: params, IpamPoolId="p") == {"IpamPoolId": "p"}

    def fail(**_):
        raise client_error("InvalidIpamScopeId.NotFound", "missing")

    with pytest.raises(AwsError) as caught:
        call_aws(fail, IpamScopeId="ipam-scope-0123456789abcdef0")
    assert isinstance(caught.value.__cause__, ClientError)
    assert caught.value.member == "IpamScopeId"


def test_errors_not_from_aws_are_not_swallowed():
    def broken(**_):
        raise KeyError("bug")

    with pytest.raises(KeyError):
        call_aws(broken)


def offline_client():
    session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    return session.client("ec2", endpoint_url="http://127.0.0.1:9")


@pytest.fixture
def ec2():
    client = offline_client()
    with Stubber(client) as stubber:
        yield client, stubber


@pytest.mark.parametrize(
    ("method", "params", "code", "message", "member"),
    [
        (
            "provision_ipam_pool_cidr",
            {"IpamPoolId": "ipam-pool-1", "Cidr": "192.168.0.0/16"},
            "InvalidParameterValue",
            "192.168.0.0/16 is not inside a provisioned CIDR of the source pool ipam-pool-0.",
            "Cidr",
        ),
        (
            "provision_ipam_pool_cidr",
            {"IpamPoolId": "ipam-pool-1", "Cidr": "10.0.0.0/16"},
            "InvalidIpamPoolId.NotFound",
            "The ipam-pool ID 'ipam-pool-1' does not exist",
            "IpamPoolId",
        ),
        (
            "delete_ipam_pool",
            {"IpamPoolId": "ipam-pool-1"},
            "IncorrectState",
            "The pool ipam-pool-1 has child pools; delete them first or use Cascade.",
            "IpamPoolId",
        ),
        (
            "create_ipam_pool",
            {"IpamScopeId": "ipam-scope-1", "AddressFamily": "ipv4", "SourceIpamPoolId": "p"},
            "InvalidIpamPoolId.NotFound",
            "The ipam-pool ID 'p' does not exist",
            "SourceIpamPoolId",
        ),
        (
            "create_ipam_pool",
            {"IpamScopeId": "ipam-scope-1", "AddressFamily": "ipv4", "SourceIpamPoolId": "p"},
            "IncorrectState",
            "The source pool p is in the state create-in-progress.",
            "SourceIpamPoolId",
        ),
    ],
)
def test_member_is_one_the_operation_has(ec2, method, params, code, message, member):
    client, stubber = ec2
    stubber.add_client_error(method, service_error_code=code, service_message=message)

    with pytest.raises(AwsRefused) as caught:
        call_aws(getattr(client, method), **params)

    assert caught.value.code == code
    assert caught.value.member == member


def test_request_botocore_rejects_is_a_refusal_naming_the_member():
    client = offline_client()

    with pytest.raises(AwsRefused) as caught:
        call_aws(client.provision_ipam_pool_cidr, IpamPoolId="ipam-pool-1", NetmaskLength=None)

    assert caught.value.code == "ParamValidation"
    assert caught.value.member == "NetmaskLength"
