"""Fixtures for the channel contract suite: one `channel` per kind, Redis being a real redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis

from learninngest.stream import Channel, open_channel

KINDS = ["memory", "redis"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=KINDS)
def store_url(request: pytest.FixtureRequest) -> str:
    """The result store URL the channel goes with (the channel follows the store)."""
    if request.param == "memory":
        return "sqlite:///unused.db"
    url = request.getfixturevalue("redis_url")
    with redis.Redis.from_url(url) as client:
        client.flushdb()  # every test starts from an empty database
    return url


@pytest.fixture
async def channel(store_url: str) -> AsyncIterator[Channel]:
    opened = open_channel(store_url, ttl_s=60)
    try:
        yield opened
    finally:
        await opened.close()
