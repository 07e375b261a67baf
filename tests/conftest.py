"""Every test talks to a fresh in-process local IPAM endpoint, never to AWS."""

from __future__ import annotations

import pytest

import ipamsim
from ipamsim.seed import seed_demo
from pools.aws import reset_clients
from pools.aws.embedded import use_simulator


@pytest.fixture(autouse=True)
def sim(settings) -> ipamsim.Simulator:
    """The local endpoint the app's EC2 client talks to during this test (no create delay;
    the account's quota of IPAMs per Region raised, so a test may make several)."""
    settings.IPAM_BACKEND = "embedded"
    settings.IPAM_REGION = "us-east-1"
    simulator = ipamsim.Simulator(ipamsim.Config(create_delay=0, max_ipams_per_region=10))
    use_simulator(simulator)
    reset_clients()
    yield simulator
    use_simulator(None)
    reset_clients()


@pytest.fixture
def demo(sim: ipamsim.Simulator, db) -> ipamsim.Simulator:
    """The demo IPAM, seeded in the endpoint and synced into the database."""
    from pools.sync import sync_all

    seed_demo(sim)
    sync_all()
    return sim
