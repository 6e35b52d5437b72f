"""Fixtures for the channel contract suite: one `channel` per kind, each on a real server
(Redis a real redis-server, Realtime a real engine's /v1/realtime)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from learninngest.stream import Channel, open_channel
from tests.engine.harness import Host, local_engine

KINDS = ["memory", "redis", "realtime"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=KINDS)
def channel_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(channel_kind: str, request: pytest.FixtureRequest) -> str:
    """The result store URL the channel goes with (by default the channel follows the store)."""
    if channel_kind != "redis":
        return "sqlite:///unused.db"
    url = request.getfixturevalue("redis_url")
    with redis.Redis.from_url(url) as client:
        client.flushdb()  # every test starts from an empty database
    return url


@pytest.fixture(scope="module")
def realtime_engine() -> Iterator[Host]:
    """An engine whose /v1/realtime the Realtime channel publishes to and subscribes at."""
    with local_engine() as host:
        yield host


@pytest.fixture
async def channel(
    channel_kind: str, store_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[Channel]:
    if channel_kind == "realtime":
        host: Host = request.getfixturevalue("realtime_engine")
        # A channel name per test: the module's engine is shared, its messages must not be.
        name = f"contract-{request.node.name}"
        opened = open_channel(
            store_url, ttl_s=60, kind="realtime", realtime_url=host.url, realtime_channel=name
        )
    else:
        opened = open_channel(store_url, ttl_s=60)
    try:
        yield opened
    finally:
        await opened.close()
