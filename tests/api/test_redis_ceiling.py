"""More than 100 requests and streams at once on one backend with a real Redis store.

redis-py's asyncio pool opens at most 100 connections by default and raises past them,
which made the 101st concurrent request a 503 "unreachable". The pools are now sized from
SERVER_LIMIT_CONCURRENCY and wait for a free connection (store/redis_clients.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import pytest
import redis

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.store import ChatRecord, Status, open_store
from learninngest.stream import EventType, open_channel

READS = 300
STREAMS = 200


@contextlib.contextmanager
def redis_backend(redis_url: str, dead_inngest_url: str) -> Iterator[BackgroundServer]:
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    settings = get_settings(port=free_port(), inngest_base_url=dead_inngest_url, result_store_url=redis_url)
    with BackgroundServer(create_app(settings), name="backend", port=settings.port) as server:
        yield server


@pytest.mark.timeout(120)
def test_300_concurrent_reads_of_a_finished_result_all_answer(redis_url: str, dead_inngest_url: str) -> None:
    async def scenario(base_url: str) -> list[int]:
        store = open_store(redis_url)
        try:
            await store.create(ChatRecord(request_id="r1", query="q"))
            await store.finish("r1", status=Status.done, content="answer")
        finally:
            await store.close()
        limits = httpx.Limits(max_connections=READS, max_keepalive_connections=READS)
        async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
            replies = await asyncio.gather(*(http.get("/api/v1/chat/result/r1") for _ in range(READS)))
        return [reply.status_code for reply in replies]

    with redis_backend(redis_url, dead_inngest_url) as server:
        statuses = asyncio.run(scenario(server.url))

    assert statuses.count(200) == READS, {code: statuses.count(code) for code in set(statuses)}


@pytest.mark.timeout(120)
def test_200_concurrent_streams_all_get_their_tokens_and_result(
    redis_url: str, dead_inngest_url: str
) -> None:
    async def follow(http: httpx.AsyncClient, following: asyncio.Semaphore) -> tuple[int, list[str]]:
        seen: list[str] = []
        try:
            async with http.stream("GET", "/api/v1/chat/r1/stream") as reply:
                async for line in reply.aiter_lines():
                    if line.startswith("event: "):
                        seen.append(line.removeprefix("event: "))
                        if seen == ["status"]:
                            following.release()
                        if seen[-1] in ("done", "error"):
                            break
                return reply.status_code, seen
        finally:
            if not seen:
                following.release()  # failed before following: the scenario must not wait for it

    async def scenario(base_url: str) -> list[tuple[int, list[str]]]:
        store = open_store(redis_url)
        channel = open_channel(redis_url)
        try:
            await store.create(ChatRecord(request_id="r1", query="q"))
            following = asyncio.Semaphore(0)
            limits = httpx.Limits(max_connections=STREAMS, max_keepalive_connections=STREAMS)
            async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
                streams = [asyncio.create_task(follow(http, following)) for _ in range(STREAMS)]
                for _ in range(STREAMS):  # every stream follows (has its status event), or failed
                    await following.acquire()
                await channel.publish("r1", EventType.token, {"text": "Paris", "attempt": 1})
                await store.finish("r1", status=Status.done, content="Paris")
                return await asyncio.gather(*streams)
        finally:
            await channel.close()
            await store.close()

    with redis_backend(redis_url, dead_inngest_url) as server:
        outcomes = asyncio.run(scenario(server.url))

    assert [status for status, _ in outcomes] == [200] * STREAMS
    assert all(seen == ["status", "token", "done"] for _, seen in outcomes), outcomes[:3]
