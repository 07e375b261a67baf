"""Fixtures for the local IPAM endpoint's tests.

Building a boto3 EC2 client costs a tenth of a second, so clients (and one HTTP server) live for
the whole session and always talk to the simulator of the running test: ``_Current`` stands in
for it. ``ec2`` is parametrized over both transports, in-process and HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import ipamsim
from ipamsim.server import IpamServer
from tests.integration.ipamsim.support import HOME, NO_RETRIES, World, http_client, make_world

TRANSPORTS = ("in-process", "http")


class _Current:
    """Forwards to the running test's simulator (what ``attach`` and the server call)."""

    def __init__(self) -> None:
        self.sim: ipamsim.Simulator | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sim, name)


@pytest.fixture(scope="session")
def _current() -> _Current:
    return _Current()


@pytest.fixture(scope="session")
def shared_server(_current: _Current) -> Iterator[IpamServer]:
    server = IpamServer(_current, port=0)  # type: ignore[arg-type]
    server.start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def _client_cache() -> dict[tuple[str, str], Any]:
    return {}


def endpoint_config(**changes: Any) -> ipamsim.Config:
    """The tests' endpoint: no create delay, and an account whose quota of IPAMs per Region
    is raised (as AWS lets one ask), so tests may make several; one test keeps AWS's 1."""
    return ipamsim.Config(**({"create_delay": 0, "max_ipams_per_region": 10} | changes))


@pytest.fixture
def use_sim(_current: _Current) -> Iterator[Callable[..., ipamsim.Simulator]]:
    """Make a new simulator the current one: ``use_sim(Config(...), clock=..., state_path=...)``."""
    made: list[ipamsim.Simulator] = []

    def use(config: ipamsim.Config | None = None, **kwargs: Any) -> ipamsim.Simulator:
        kwargs.setdefault("seed", 1)
        simulator = ipamsim.Simulator(config or endpoint_config(), **kwargs)
        made.append(simulator)
        _current.sim = simulator
        return simulator

    yield use
    _current.sim = None
    for simulator in made:
        simulator.store.close()


@pytest.fixture
def sim(use_sim: Callable[..., ipamsim.Simulator]) -> ipamsim.Simulator:
    return use_sim()


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_client(
    request: pytest.FixtureRequest,
    transport: str,
    _current: _Current,
    _client_cache: dict[tuple[str, str], Any],
    sim: ipamsim.Simulator,
) -> Callable[..., Any]:
    """A client of the current transport: ``make_client(region, **client_kwargs)``."""

    def make(region: str = HOME, **kwargs: Any) -> Any:
        key = (transport, region)
        shared = not kwargs
        if shared and key in _client_cache:
            return _client_cache[key]
        kwargs.setdefault("config", NO_RETRIES)
        if transport == "http":
            made = http_client(request.getfixturevalue("shared_server").url, region, **kwargs)
        else:
            made = ipamsim.client(_current, region, **kwargs)  # type: ignore[arg-type]
        if shared:
            _client_cache[key] = made
        return made

    return make


@pytest.fixture
def ec2(make_client: Callable[..., Any]) -> Any:
    """An EC2 client in the home Region, over each transport in turn."""
    return make_client()


@pytest.fixture
def local(
    _current: _Current, _client_cache: dict[tuple[str, str], Any], sim: ipamsim.Simulator
) -> Any:
    """An in-process EC2 client in the home Region (for tests that need only one transport)."""
    key = ("in-process", HOME)
    if key not in _client_cache:
        _client_cache[key] = ipamsim.client(_current, HOME, config=NO_RETRIES)  # type: ignore[arg-type]
    return _client_cache[key]


@pytest.fixture
def world(sim: ipamsim.Simulator) -> World:
    return make_world(sim)
