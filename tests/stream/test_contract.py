"""One contract every channel keeps (in-process, Redis, Realtime): order, resume, waiting, isolation."""

from __future__ import annotations

import asyncio

import pytest

from learninngest.stream import Channel, EventType, open_channel
from learninngest.stream.memory import MemoryChannel
from learninngest.stream.redis import RedisChannel

pytestmark = pytest.mark.anyio


async def publish_tokens(channel: Channel, request_id: str, texts: list[str]) -> list[str]:
    return [await channel.publish(request_id, EventType.token, {"text": text}) for text in texts]


async def test_events_come_back_in_order_with_their_data(channel: Channel) -> None:
    await channel.publish("r1", EventType.status, {"status": "running", "attempt": 1})
    await publish_tokens(channel, "r1", ["The", " capital", " is", " Paris"])
    await channel.publish("r1", EventType.done, {"attempts": 1})

    events = await channel.read("r1", after=None, wait=1)

    assert [e.type for e in events] == [EventType.status] + [EventType.token] * 4 + [EventType.done]
    assert "".join(e.data["text"] for e in events if e.type is EventType.token) == "The capital is Paris"
    assert events[0].data == {"status": "running", "attempt": 1}


async def test_reading_after_an_id_resumes_without_repeating_or_losing(channel: Channel) -> None:
    ids = await publish_tokens(channel, "r2", ["a", "b", "c", "d", "e"])
    assert len(set(ids)) == 5 and all(channel.valid_id(i) for i in ids)

    rest = await channel.read("r2", after=ids[1], wait=1)

    assert [e.data["text"] for e in rest] == ["c", "d", "e"]
    assert [e.id for e in rest] == ids[2:]
    assert await channel.read("r2", after=ids[-1], wait=0) == []


async def test_a_read_waits_for_the_next_event(channel: Channel) -> None:
    reader = asyncio.create_task(channel.read("r3", after=None, wait=5))
    await asyncio.sleep(0.05)  # the reader is (likely) waiting; either way it must get the event
    await channel.publish("r3", EventType.token, {"text": "late"})

    events = await asyncio.wait_for(reader, 10)

    assert [e.data["text"] for e in events] == ["late"]


async def test_a_read_with_nothing_new_returns_empty_after_its_timeout(channel: Channel) -> None:
    assert await channel.read("quiet", after=None, wait=0.1) == []
    assert await channel.read("quiet", after=None, wait=0) == []


async def test_requests_do_not_see_each_others_events(channel: Channel) -> None:
    await publish_tokens(channel, "mine", ["x"])
    await publish_tokens(channel, "theirs", ["y"])
    assert [e.data["text"] for e in await channel.read("mine", after=None, wait=0)] == ["x"]


async def test_several_readers_all_get_every_event(channel: Channel) -> None:
    readers = [asyncio.create_task(channel.read("r4", after=None, wait=5)) for _ in range(3)]
    await asyncio.sleep(0.05)
    await channel.publish("r4", EventType.retry, {"attempt": 2})

    results = await asyncio.wait_for(asyncio.gather(*readers), 10)

    assert all([e.type for e in events] == [EventType.retry] for events in results)


async def test_a_malformed_id_is_not_valid(channel: Channel) -> None:
    # Digits of other scripts pass str.isdigit() or \d but not int() or Redis: never valid.
    for bad in ("", "abc", "1-2-3", "-1", "1 OR 1", "²", "1²", "٣", "１", "1\n", "1-٣"):
        assert not channel.valid_id(bad)


async def test_the_channel_follows_the_store(store_url: str) -> None:
    kind = RedisChannel if store_url.startswith("redis") else MemoryChannel
    assert isinstance(open_channel(store_url), kind)


async def test_the_in_process_channel_forgets_old_requests() -> None:
    channel = MemoryChannel(ttl_s=0)  # everything is old at once
    await channel.publish("old", EventType.token, {"text": "x"})
    await channel.publish("new", EventType.token, {"text": "y"})  # publishing expires the rest
    assert await channel.read("old", after=None, wait=0) == []


async def test_redis_keeps_a_requests_events_for_ttl_s(redis_url: str) -> None:
    import redis.asyncio as aioredis

    channel = RedisChannel(redis_url, ttl_s=120)
    try:
        await channel.publish("ttl", EventType.token, {"text": "x"})
        async with aioredis.Redis.from_url(redis_url) as client:
            assert 0 < await client.ttl(channel._key("ttl")) <= 120
    finally:
        await channel.close()
