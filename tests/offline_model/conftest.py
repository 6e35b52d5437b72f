"""Fixtures: the offline model served over real HTTP by kit.servers.BackgroundServer."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from learninngest.kit.servers import BackgroundServer
from learninngest.offline_model.app import OfflineModelConfig, create_offline_model_app

Serve = Callable[..., str]


def _start(fields: dict[str, object], servers: list[BackgroundServer]) -> str:
    app = create_offline_model_app(OfflineModelConfig(**fields))  # type: ignore[arg-type]
    server = BackgroundServer(app, name="offline-model").start()
    servers.append(server)
    return server.url


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start a fresh offline model with `OfflineModelConfig(**fields)`; return its base URL.

    Each call builds a new app, so each test starts with empty fault counters.
    """
    servers: list[BackgroundServer] = []

    def start(**fields: object) -> str:
        return _start(fields, servers)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """A default offline model (no latency, no rates) shared by a module's tests.

    Sharing saves a server start and stop per test; the tests that count calls use keys
    (user ids, message texts) of their own, so they cannot see each other's counters.
    """
    servers: list[BackgroundServer] = []
    yield _start({}, servers)
    servers[0].stop()


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    """One client for all tests: reusing connections keeps the many small requests fast."""
    with httpx.Client(timeout=5.0) as client:
        yield client
