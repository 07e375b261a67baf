"""AWS's answers, translated into domain errors: the class, the code and the member concerned.

Every ClientError fed in here carries an error code and message as AWS wrote them: quoted in
docs/ipam-rules.md ([aws] evidence), in public bug reports, or EC2's generic messages. The
source is named beside each. Ids inside a message are changed to match the request; the
wording is AWS's. Where a real message names no member the translation can find, the test
says so (member None) rather than bending the translation to it.
"""

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

from pools.aws.errors import (
    AwsError,
    AwsNotAuthorised,
    AwsRefused,
    AwsUnavailable,
    call_aws,
    member_for,
    named_parameter,
    operation_members,
    translate,
)

# HTTP status EC2 answers with (ipam-rules.md section 1); 400 for every other client error.
STATUS = {
    "DryRunOperation": 412,
    "UnauthorizedOperation": 403,
    "RequestLimitExceeded": 503,
    "InternalError": 500,
}

SCOPE_ID = "ipam-scope-0123456789abcdef0"
POOL_ID = "ipam-pool-0123456789abcdef0"

# Recorded AWS messages used more than once.
# ipam-rules.md section 3 rule 14; hashicorp/terraform-provider-aws#28095
POOL_NOT_FOUND = "The ipam-pool ID '{}' does not exist"
# ipam-rules.md section 3 rule 19; hashicorp/terraform-provider-aws#39967 (CloudTrail record)
PUBLICLY_ADVERTISABLE = (
    "The request can only contain PubliclyAdvertisable if the AddressFamily is IPv6 and "
    "PublicIpSource is byoip."
)
# ipam-rules.md section 3 rule 23; dtan4/terraforming#343
TAG_AWS_PREFIX = "Tag keys starting with 'aws:' are reserved for internal use"
# ipam-rules.md section 4 (ModifyIpamPool); aws-ia/terraform-aws-ipam#65
NO_MODIFICATION = "The request must contain a modification to the ipam pool"
# ipam-rules.md section 4 (GetIpamPoolAllocations); hashicorp/terraform-provider-aws#28913
ALLOCATION_NOT_FOUND = (
    "The IPAM pool allocation (ipam-pool-alloc-0f1fe03456e174fea9c82affb5ee35e01) does not exist."
)


def client_error(
    code: str, message: str, status: int | None = None, operation: str = "CreateIpamPool"
) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status or STATUS.get(code, 400)},
        },
        operation,
    )


# (error code, message as AWS wrote it, expected class, expected member), translated with no
# operation to narrow the members.
AWS_ANSWERS = [
    pytest.param(
        "InvalidIpamPoolId.NotFound",
        POOL_NOT_FOUND.format(POOL_ID),
        AwsRefused,
        "SourceIpamPoolId",
        id="source-pool-not-found",
    ),
    pytest.param(
        "InvalidParameterCombination",
        PUBLICLY_ADVERTISABLE,
        AwsRefused,
        "PubliclyAdvertisable",
        id="publicly-advertisable",
    ),
    pytest.param(
        "InvalidParameterValue", TAG_AWS_PREFIX, AwsRefused, "TagSpecifications", id="tag-aws"
    ),
    pytest.param(
        # AndrewFarley/AWS-Automated-Daily-Instance-AMI-Snapshots#7 (CreateTags); the same
        # wording in kubernetes-sigs/cluster-api-provider-aws#5461
        "InvalidParameterValue",
        "Value ( aws:autoscaling:groupName ) for parameter key is invalid. "
        "Tag keys starting with 'aws:' are reserved for internal use",
        AwsRefused,
        "TagSpecifications",
        id="tag-aws-with-value",
    ),
    pytest.param(
        # ipam-rules.md section 3 rule 23
        "InvalidParameterValue",
        "Tag key exceeds the maximum length of 128 characters",
        AwsRefused,
        "TagSpecifications",
        id="tag-key-length",
    ),
    pytest.param(
        # ipam-rules.md section 3 rule 23
        "InvalidParameterValue",
        "Tag value exceeds the maximum length of 256 characters",
        AwsRefused,
        "TagSpecifications",
        id="tag-value-length",
    ),
    pytest.param(
        # EC2's generic InvalidParameterValue wording
        "InvalidParameterValue",
        "Value (x) for parameter Locale is invalid.",
        AwsRefused,
        "Locale",
        id="locale-invalid",
    ),
    pytest.param(
        # EC2's generic MissingParameter wording
        "MissingParameter",
        "The request must contain the parameter Cidr",
        AwsRefused,
        "Cidr",
        id="missing-parameter",
    ),
    pytest.param(
        "InvalidParameterCombination", NO_MODIFICATION, AwsRefused, None, id="no-modification"
    ),
    pytest.param(
        # The allocation id is the member; nothing in the message says so.
        "InvalidIpamPoolAllocationId.NotFound",
        ALLOCATION_NOT_FOUND,
        AwsRefused,
        None,
        id="allocation-not-found",
    ),
    pytest.param(
        # hashicorp/terraform-provider-aws#39046 and terraform-aws-modules/terraform-aws-vpc#718
        # (CreateVpc from a pool). The netmask length is the member; the message says "size".
        "InvalidParameterValue",
        "The allocation size is too big for the pool.",
        AwsRefused,
        None,
        id="allocation-too-big",
    ),
    pytest.param(
        # rebuy-de/aws-nuke#834 (CreateIpam); a code the translation has no entry for
        "ResourceLimitExceeded",
        "You've reached the limit for ipams. You have created 1 ipams and you are limited to 1.",
        AwsRefused,
        None,
        id="ipam-quota",
    ),
    pytest.param(
        # ipam-rules.md section 3 rule 26
        "DryRunOperation",
        "Request would have succeeded, but DryRun flag is set.",
        AwsRefused,
        None,
        id="dry-run",
    ),
    pytest.param(
        # ipam-rules.md section 3 rule 26
        "UnauthorizedOperation",
        "You are not authorized to perform this operation.",
        AwsNotAuthorised,
        None,
        id="unauthorized",
    ),
    pytest.param(
        # ipam-rules.md section 3 rule 27; aws-ia/terraform-aws-ipam#55
        "ConcurrentMutationLimitExceeded",
        "There are too many concurrent mutations for the requested resource. Try again later.",
        AwsUnavailable,
        None,
        id="concurrent-mutations",
    ),
    pytest.param(
        # EC2's generic RequestLimitExceeded wording
        "RequestLimitExceeded",
        "Request limit exceeded.",
        AwsUnavailable,
        None,
        id="throttled",
    ),
    pytest.param(
        # EC2's generic InternalError wording
        "InternalError",
        "An internal error has occurred",
        AwsUnavailable,
        None,
        id="internal",
    ),
]


@pytest.mark.parametrize(("code", "message", "kind", "member"), AWS_ANSWERS)
def test_each_aws_error_code(code, message, kind, member):
    error = translate(client_error(code, message))

    assert type(error) is kind
    assert error.code == code
    assert error.member == member
    assert error.retryable is (kind is AwsUnavailable)
    if kind is AwsRefused:
        assert error.message == message


def test_any_server_error_is_unavailable():
    # nib-health-funds/hammertime#29: a 500 whose code the translation has no entry for
    error = translate(client_error("InsufficientInstanceCapacity", "Insufficient capacity.", 500))

    assert type(error) is AwsUnavailable
    assert error.code == "InsufficientInstanceCapacity"
    assert error.retryable


@pytest.mark.parametrize(
    ("message", "member"),
    [
        ("The request must contain the parameter Cidr", "Cidr"),
        ("Value (x) for parameter Locale is invalid.", "Locale"),
        # botocore's own reports (ParamValidationError)
        ('Missing required parameter in input: "IpamPoolId"', "IpamPoolId"),
        (
            "Invalid type for parameter NetmaskLength, value: None, type: <class 'NoneType'>, "
            "valid types: <class 'int'>",
            "NetmaskLength",
        ),
        # "parameter key" is the tag's key, no request member
        (
            "Value ( aws:autoscaling:groupName ) for parameter key is invalid. " + TAG_AWS_PREFIX,
            None,
        ),
        (PUBLICLY_ADVERTISABLE, None),
    ],
    ids=["missing", "invalid", "botocore-missing", "botocore-type", "tag-key", "unnamed"],
)
def test_named_parameter(message, member):
    assert named_parameter(message) == member


def offline_client():
    session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    return session.client("ec2", endpoint_url="http://127.0.0.1:9")


def test_operation_members_come_from_the_service_model():
    client = offline_client()

    members = operation_members(client.create_ipam_pool)

    assert {"IpamScopeId", "SourceIpamPoolId", "Locale", "TagSpecifications"} <= members
    assert "IpamPoolId" not in members
    assert "IpamPoolId" in operation_members(client.delete_ipam_pool)
    assert operation_members(lambda **_: None) is None


@pytest.mark.parametrize(
    ("code", "method", "member"),
    [
        ("InvalidIpamScopeId.NotFound", "create_ipam_pool", "IpamScopeId"),
        ("InvalidIpamId.NotFound", "create_ipam_scope", "IpamId"),
        ("InvalidIpamPoolId.NotFound", "create_ipam_pool", "SourceIpamPoolId"),
        ("InvalidIpamPoolId.NotFound", "provision_ipam_pool_cidr", "IpamPoolId"),
        ("IncorrectState", "deprovision_ipam_pool_cidr", "IpamPoolId"),
        ("IdempotentParameterMismatch", "create_ipam_pool", None),
    ],
)
def test_some_codes_decide_the_member_whatever_the_message(code, method, member):
    """These codes are AWS's (ipam-rules.md), their wording is not on record: the member comes
    from the code and the operation alone, so no message is given."""
    members = operation_members(getattr(offline_client(), method))

    assert member_for(code, "", members=members) == member


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
    exc = ParamValidationError(
        report="Invalid type for parameter NetmaskLength, value: None, "
        "type: <class 'NoneType'>, valid types: <class 'int'>"
    )

    error = translate(exc)

    assert type(error) is AwsRefused
    assert not error.retryable
    assert error.code == "ParamValidation"
    assert error.member == "NetmaskLength"


def test_call_aws_returns_the_answer_and_raises_translated_errors():
    assert call_aws(lambda **params: params, IpamPoolId=POOL_ID) == {"IpamPoolId": POOL_ID}

    def fail(**_):
        raise client_error("InvalidIpamPoolId.NotFound", POOL_NOT_FOUND.format(POOL_ID))

    with pytest.raises(AwsError) as caught:
        call_aws(fail, IpamScopeId=SCOPE_ID, AddressFamily="ipv4", SourceIpamPoolId=POOL_ID)
    assert isinstance(caught.value.__cause__, ClientError)
    assert type(caught.value) is AwsRefused
    assert caught.value.member == "SourceIpamPoolId"


def test_errors_not_from_aws_are_not_swallowed():
    def broken(**_):
        raise KeyError("bug")

    with pytest.raises(KeyError):
        call_aws(broken)


@pytest.fixture
def ec2():
    client = offline_client()
    with Stubber(client) as stubber:
        yield client, stubber


@pytest.mark.parametrize(
    ("method", "params", "code", "message", "member"),
    [
        pytest.param(
            "provision_ipam_pool_cidr",
            {"IpamPoolId": "ipam-pool-0b14282cdda6542b7", "Cidr": "192.168.0.0/18"},
            "InvalidIpamPoolId.NotFound",
            POOL_NOT_FOUND.format("ipam-pool-0b14282cdda6542b7"),
            "IpamPoolId",
            id="provision-pool-not-found",
        ),
        pytest.param(
            "create_ipam_pool",
            {"IpamScopeId": SCOPE_ID, "AddressFamily": "ipv4", "SourceIpamPoolId": POOL_ID},
            "InvalidIpamPoolId.NotFound",
            POOL_NOT_FOUND.format(POOL_ID),
            "SourceIpamPoolId",
            id="create-source-pool-not-found",
        ),
        pytest.param(
            "create_ipam_pool",
            {
                "IpamScopeId": SCOPE_ID,
                "AddressFamily": "ipv6",
                "Locale": "eu-west-1",
                "PubliclyAdvertisable": False,
            },
            "InvalidParameterCombination",
            PUBLICLY_ADVERTISABLE,
            "PubliclyAdvertisable",
            id="create-publicly-advertisable",
        ),
        pytest.param(
            "create_ipam_pool",
            {
                "IpamScopeId": SCOPE_ID,
                "AddressFamily": "ipv4",
                "TagSpecifications": [
                    {"ResourceType": "ipam-pool", "Tags": [{"Key": "aws:x", "Value": "1"}]}
                ],
            },
            "InvalidParameterValue",
            TAG_AWS_PREFIX,
            "TagSpecifications",
            id="create-tag-aws",
        ),
        pytest.param(
            # hashicorp/terraform-provider-aws#22328 (sweeper log). "cidrs" would point at
            # Cidr, which DeleteIpamPool does not have: the request as a whole.
            "delete_ipam_pool",
            {"IpamPoolId": "ipam-pool-053b66095dd7a3fef"},
            "DependencyViolation",
            "The specified action is not valid for ipam-pool-053b66095dd7a3fef. "
            "There are one or more pool cidrs provisioned in the pool.",
            None,
            id="delete-pool-with-cidrs",
        ),
        pytest.param(
            # ipam-rules.md C8; terraform-aws-modules/terraform-aws-vpc#1135. Either member
            # would do; the translation names Cidr.
            "allocate_ipam_pool_cidr",
            {"IpamPoolId": "ipam-pool-01c77e7ea1ea0783d", "PreviewNextCidr": True},
            "InvalidParameterCombination",
            "The request cannot contain empty CIDR and Netmask Length for a pool with no "
            "default allocation netmask length set. Exactly one of them should be provided.",
            "Cidr",
            id="allocate-neither-cidr-nor-netmask",
        ),
        pytest.param(
            "modify_ipam_pool",
            {"IpamPoolId": "ipam-pool-0a0b53587b6f4f8dd", "Description": "same"},
            "InvalidParameterCombination",
            NO_MODIFICATION,
            None,
            id="modify-nothing",
        ),
        pytest.param(
            # The message quotes the allocation id, the member it concerns.
            "release_ipam_pool_allocation",
            {
                "IpamPoolId": POOL_ID,
                "IpamPoolAllocationId": "ipam-pool-alloc-0f1fe03456e174fea9c82affb5ee35e01",
                "Cidr": "10.0.0.0/27",
            },
            "InvalidIpamPoolAllocationId.NotFound",
            ALLOCATION_NOT_FOUND,
            "IpamPoolAllocationId",
            id="release-allocation-not-found",
        ),
    ],
)
def test_member_is_one_the_operation_has(ec2, method, params, code, message, member):
    client, stubber = ec2
    stubber.add_client_error(method, service_error_code=code, service_message=message)

    with pytest.raises(AwsRefused) as caught:
        call_aws(getattr(client, method), **params)

    assert caught.value.code == code
    assert caught.value.message == message
    assert caught.value.member == member


def test_message_recorded_only_in_part_is_still_a_refusal(ec2):
    """ipam-rules.md C6; aws-ia/terraform-aws-ipam#75 records only the beginning of the message,
    so which member the rest might name is not asserted."""
    client, stubber = ec2
    message = "The request must contain a CIDR Authorization Context"
    stubber.add_client_error(
        "provision_ipam_pool_cidr",
        service_error_code="InvalidParameterCombination",
        service_message=message,
    )

    with pytest.raises(AwsRefused) as caught:
        call_aws(client.provision_ipam_pool_cidr, IpamPoolId=POOL_ID, Cidr="2001:db8::/48")

    assert caught.value.code == "InvalidParameterCombination"
    assert caught.value.message == message


def test_request_botocore_rejects_is_a_refusal_naming_the_member():
    client = offline_client()

    with pytest.raises(AwsRefused) as caught:
        call_aws(client.provision_ipam_pool_cidr, IpamPoolId="ipam-pool-1", NetmaskLength=None)

    assert caught.value.code == "ParamValidation"
    assert caught.value.member == "NetmaskLength"


def test_missing_required_member_is_a_refusal_naming_it():
    client = offline_client()

    with pytest.raises(AwsRefused) as caught:
        call_aws(client.provision_ipam_pool_cidr, Cidr="10.0.0.0/16")

    assert caught.value.code == "ParamValidation"
    assert caught.value.member == "IpamPoolId"


def test_an_answer_botocore_cannot_parse_is_a_domain_error():
    """An endpoint that wrote XML 1.0 cannot carry: the caller gets an AwsError, not a
    traceback (the sync reports it and the next run goes on)."""
    from botocore.parsers import ResponseParserError

    def unreadable(**_):
        raise ResponseParserError("Unable to parse response (not well-formed)")

    with pytest.raises(AwsUnavailable) as caught:
        call_aws(unreadable)
    assert caught.value.code == "ResponseParserError"
