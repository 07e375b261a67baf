"""The one integration point with AWS: the EC2 client factory and error translation."""

from __future__ import annotations

from pools.aws.client import ec2_client, reset_clients, worker_patience
from pools.aws.errors import (
    AwsError,
    AwsNotAuthorised,
    AwsRefused,
    AwsUnavailable,
    aws_called,
    call_aws,
)
from pools.aws.paging import pages

__all__ = [
    "AwsError",
    "AwsNotAuthorised",
    "AwsRefused",
    "AwsUnavailable",
    "aws_called",
    "call_aws",
    "ec2_client",
    "pages",
    "reset_clients",
    "worker_patience",
]
