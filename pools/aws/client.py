"""The EC2 client factory: one configured client per process (boto3 clients are thread-safe)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from django.conf import settings

from pools.aws.embedded import embedded_client

_lock = threading.Lock()
_clients: dict[str, Any] = {}


def client_config() -> Config:
    return Config(
        region_name=settings.IPAM_REGION,
        connect_timeout=settings.IPAM_CONNECT_TIMEOUT,
        read_timeout=settings.IPAM_READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": settings.IPAM_MAX_ATTEMPTS},
        user_agent_appid="ipamui",
    )


def ec2_client() -> Any:
    """The EC2 client for the configured backend: AWS itself, or the embedded local endpoint."""
    key = f"{settings.IPAM_BACKEND}|{settings.IPAM_REGION}"
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = _make_client()
    return client


def _make_client() -> Any:
    if settings.IPAM_BACKEND == "embedded":
        return embedded_client(client_config())
    return boto3.session.Session().client("ec2", config=client_config())


def reset_clients() -> None:
    """Forget the cached clients (tests switch backends and Regions)."""
    with _lock:
        _clients.clear()
