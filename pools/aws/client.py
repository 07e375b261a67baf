"""The EC2 client factory: one configured client per process (boto3 clients are thread-safe)."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from django.conf import settings

from pools.aws.embedded import embedded_client

_lock = threading.Lock()
_clients: dict[str, Any] = {}


_patient = contextvars.ContextVar("patient", default=False)
REQUEST_ATTEMPTS = 2
FIRST_RETRY_BACKOFF = 1.0  # botocore's standard mode waits at most this before attempt 2


@contextmanager
def worker_patience() -> Iterator[None]:
    """AWS calls made inside wait as long as a task may (``IPAM_READ_TIMEOUT``, up to
    ``IPAM_MAX_ATTEMPTS`` attempts); outside, a web request's budget holds."""
    token = _patient.set(True)
    try:
        yield
    finally:
        _patient.reset(token)


def request_timeouts(budget: float) -> tuple[float, float]:
    """(connect, read) timeouts for a call made while a user waits: with two attempts and the
    backoff before the second, the worst case is ``budget`` seconds."""
    per_attempt = max(1.0, (budget - FIRST_RETRY_BACKOFF) / REQUEST_ATTEMPTS)
    connect = min(settings.IPAM_CONNECT_TIMEOUT, per_attempt / 3)
    return connect, per_attempt - connect


def client_config(*, patient: bool = False) -> Config:
    if patient:
        connect, read = settings.IPAM_CONNECT_TIMEOUT, settings.IPAM_READ_TIMEOUT
        attempts = settings.IPAM_MAX_ATTEMPTS
    else:
        (connect, read), attempts = request_timeouts(settings.IPAM_REQUEST_BUDGET), REQUEST_ATTEMPTS
    return Config(
        region_name=settings.IPAM_REGION,
        connect_timeout=connect,
        read_timeout=read,
        retries={"mode": "standard", "total_max_attempts": attempts},
        user_agent_appid="ipamui",
    )


def ec2_client() -> Any:
    """The EC2 client for the configured backend: AWS itself, or the embedded local endpoint;
    with a web request's timeouts, or a task's inside :func:`worker_patience`."""
    patient = _patient.get()
    key = f"{settings.IPAM_BACKEND}|{settings.IPAM_REGION}|{patient}"
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = _make_client(client_config(patient=patient))
    return client


def _make_client(config: Config) -> Any:
    if settings.IPAM_BACKEND == "embedded":
        return embedded_client(config)
    return boto3.session.Session().client("ec2", config=config)


def reset_clients() -> None:
    """Forget the cached clients (tests switch backends and Regions)."""
    with _lock:
        _clients.clear()
