from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from awsipam import constants


def backend(request: HttpRequest) -> dict[str, Any]:
    """Which IPAM the app talks to, for the page header."""
    return {
        "ipam_backend": settings.IPAM_BACKEND,
        "ipam_region": settings.IPAM_REGION,
        "max_pool_depth": constants.MAX_POOL_DEPTH,
    }
