"""The embedded default: the local IPAM endpoint in this process, for use with no AWS account.

This is the only module of the app that imports ``ipamsim``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from botocore.config import Config
from django.conf import settings

import ipamsim
from ipamsim.seed import seed_demo

_lock = threading.Lock()
_simulator: ipamsim.Simulator | None = None


def simulator() -> ipamsim.Simulator:
    """The process's local endpoint, created (and seeded with the demo IPAM) on first use."""
    global _simulator
    with _lock:
        if _simulator is None:
            state = settings.IPAM_EMBEDDED_STATE or None
            if state and state != ":memory:":
                Path(state).parent.mkdir(parents=True, exist_ok=True)
            quotas = settings.IPAM_QUOTAS
            config = ipamsim.Config(
                default_region=settings.IPAM_REGION,
                create_delay=settings.IPAM_EMBEDDED_CREATE_DELAY,
                provision_delay=settings.IPAM_EMBEDDED_PROVISION_DELAY,
                max_ipams_per_region=quotas["ipams_per_region"],
                max_scopes_per_ipam=quotas["scopes_per_ipam"],
                max_pools_per_scope=quotas["pools_per_scope"],
                max_cidrs_per_pool=quotas["cidrs_per_pool"],
            )
            _simulator = ipamsim.Simulator(config, state_path=state)
            if settings.IPAM_EMBEDDED_SEED:
                seed_demo(_simulator)
        return _simulator


def use_simulator(sim: ipamsim.Simulator | None) -> None:
    """Replace the process's local endpoint (tests give each test a fresh one)."""
    global _simulator
    with _lock:
        _simulator = sim


def embedded_client(config: Config) -> Any:
    return ipamsim.client(simulator(), region=config.region_name, config=config)
