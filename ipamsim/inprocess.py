"""Attach the endpoint to a boto3 EC2 client in the same process, with no server and no socket.

botocore emits ``before-send`` with the signed request just before it would open a connection;
a handler that returns a response ends the send there. Everything else (signing, retries,
parsing, errors) runs exactly as it does against AWS. A change whose answer the endpoint
loses (the ``lose_next_answers`` fault) raises ``ReadTimeoutError`` once it is carried out, as
a read timeout against AWS does; botocore's retry then sends it again with the same ClientToken.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from ipamsim.simulator import LOST_HEADER, Simulator

LOCAL_ENDPOINT = "http://ipamsim.local"


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any):
        yield self._data


def attach(client: Any, simulator: Simulator) -> Any:
    """Make ``client`` (a boto3 EC2 client) talk to ``simulator``; returns the client."""

    def send(request: Any, **_: Any) -> AWSResponse:
        if simulator.faults.unreachable:
            raise EndpointConnectionError(endpoint_url=request.url)
        url = urlsplit(request.url)
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        status, payload, extra = simulator.handle(request.method, url.query, headers, body)
        if extra.pop(LOST_HEADER, None):
            raise ReadTimeoutError(endpoint_url=request.url)
        return AWSResponse(
            request.url,
            status,
            {"Content-Type": "text/xml;charset=UTF-8", **extra},
            _Body(payload),
        )

    client.meta.events.register("before-send.ec2", send)
    return client


def client(simulator: Simulator, region: str = "us-east-1", **kwargs: Any) -> Any:
    """A boto3 EC2 client wired to ``simulator``, with throwaway credentials."""
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=region
    )
    ec2 = session.client("ec2", endpoint_url=LOCAL_ENDPOINT, **kwargs)
    return attach(ec2, simulator)
