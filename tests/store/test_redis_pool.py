"""The Redis store's pool is bounded and waits (store/redis_clients.py), on a real redis-server."""

from __future__ import annotations

import asyncio

import pytest
import redis

from learninngest.store import ChatRecord, StoreUnavailable
from learninngest.store.base import StoreBusy
from learninngest.store.redis import RedisStore
from learninngest.stream.base import EventType
from learninngest.stream.redis import RedisChannel

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def flushed_redis(redis_url: str) -> str:
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    return redis_url


async def test_more_commands_than_connections_wait_for_one(flushed_redis: str) -> None:
    store = RedisStore(flushed_redis, max_connections=2, pool_timeout_s=30)
    try:
        await store.create(ChatRecord(request_id="r1", query="q"))
        records = await asyncio.gather(*(store.get("r1") for _ in range(50)))
        assert all(record is not None and record.query == "q" for record in records)
        pool = store._client().connection_pool
        assert len(pool._available_connections) + len(pool._in_use_connections) <= 2
    finally:
        await store.close()


async def test_a_pool_in_use_for_the_whole_wait_says_busy_not_unreachable(flushed_redis: str) -> None:
    store = RedisStore(flushed_redis, max_connections=1, pool_timeout_s=0.2)
    try:
        # WATCH keeps the pool's only connection until the pipeline ends.
        async with store._client().pipeline(transaction=True) as held:
            await held.watch("some-key")
            with pytest.raises(StoreBusy) as refused:
                await store.get("r1")
        message = str(refused.value)
        assert "is busy: all 1 connections were in use for 0.2 s" in message
        assert "REDIS_MAX_CONNECTIONS" in message
        assert isinstance(refused.value, StoreUnavailable)  # callers that only know outages still cope
        assert await store.get("r1") is None  # released: usable again
    finally:
        await store.close()


async def test_the_stream_channel_pool_is_bounded_and_waits_too(flushed_redis: str) -> None:
    channel = RedisChannel(flushed_redis, max_connections=2, pool_timeout_s=30)
    try:
        await channel.publish("r1", EventType.token, {"text": "a"})
        seen = await asyncio.gather(*(channel.read("r1", after=None, wait=0) for _ in range(50)))
        assert [len(events) for events in seen] == [1] * 50
        pool = channel._client().connection_pool
        assert len(pool._available_connections) + len(pool._in_use_connections) <= 2
    finally:
        await channel.close()
