"""The client's address behind the load balancer, for login throttling."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The address the first of ``TRUSTED_PROXY_COUNT`` proxies saw the request come from.

    Each proxy appends the address it was reached from to ``X-Forwarded-For``, so with N
    proxies the N-th entry from the right is the client as the outermost proxy saw it; entries
    further left are whatever the client sent, and are never believed. With no proxy (the
    default), or a request that did not come through all of them, it is ``REMOTE_ADDR``.
    """
    count = settings.TRUSTED_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR")
    if count <= 0:
        return remote
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [entry.strip() for entry in header.split(",") if entry.strip()]
    if len(forwarded) < count:
        return remote
    return forwarded[-count]
