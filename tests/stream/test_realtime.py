"""The Realtime channel on a real engine: tokens go in batches, and another process's channel
(another instance here) sees every event of a run it does not execute, in order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect

from learninngest.kit.servers import BackgroundServer
from learninngest.stream import EventType, open_channel
from learninngest.stream.publisher import RunStream
from learninngest.stream.realtime import TOPIC, RealtimeChannel
from tests.engine.harness import Host, local_engine
from tests.engine.realtime.support import token_for
from tests.support import capture_log

pytestmark = pytest.mark.anyio
CHANNEL = "batches"


@pytest.fixture
def host() -> Iterator[Host]:
    with local_engine() as engine:
        yield engine


async def test_tokens_are_published_in_batches_and_a_status_at_once(host: Host) -> None:
    publisher = RealtimeChannel(host.url, channel=CHANNEL, flush_s=0.2, max_batch=8)
    raw = await connect(f"ws{host.url[4:]}/v1/realtime/connect?token={token_for(host, CHANNEL, TOPIC)}")
    try:
        await publisher.publish("r1", EventType.status, {"status": "running", "attempt": 1})
        for n in range(20):
            await publisher.publish("r1", EventType.token, {"text": f"t{n} ", "attempt": 1})
        await publisher.publish("r1", EventType.done, {"content": "..."})

        frames = []
        while not frames or frames[-1]["events"][-1]["type"] != "done":
            frames.append(json.loads(await raw.recv())["data"])
    finally:
        await raw.close()
        await publisher.close()

    sent = [e for frame in frames for e in frame["events"]]
    assert [e["type"] for e in sent] == ["status"] + ["token"] * 20 + ["done"]
    assert "".join(e["data"]["text"] for e in sent if e["type"] == "token") == "".join(
        f"t{n} " for n in range(20)
    )
    # 20 tokens with max_batch 8: at most 8 a message, so at least 3 token messages, not 20.
    assert max(len(f["events"]) for f in frames) <= 8 and len(frames) < 10
    assert [int(e["id"]) for e in sent] == sorted(int(e["id"]) for e in sent)


async def test_another_instance_reads_a_run_it_does_not_publish(host: Host) -> None:
    worker = RealtimeChannel(host.url, channel=CHANNEL)
    reader = RealtimeChannel(host.url, channel=CHANNEL)
    try:
        # Subscribed before anything is published (Realtime keeps no history): wait for it.
        await reader.start()
        assert reader._connected.is_set()
        assert await reader.read("r2", after=None, wait=0) == []  # nothing yet
        await worker.publish("r2", EventType.status, {"status": "running", "attempt": 1})
        for text in ("The", " capital", " is", " Paris"):
            await worker.publish("r2", EventType.token, {"text": text, "attempt": 1})
        await worker.publish("r2", EventType.done, {})

        seen: list = []
        async with asyncio.timeout(60):  # a lost event fails the test, not the whole run's timeout
            while not seen or seen[-1].type is not EventType.done:
                seen += await reader.read("r2", after=seen[-1].id if seen else None, wait=10)
    finally:
        await worker.close()
        await reader.close()

    assert [e.type for e in seen] == [EventType.status] + [EventType.token] * 4 + [EventType.done]
    assert "".join(e.data["text"] for e in seen if e.type is EventType.token) == "The capital is Paris"


async def test_open_channel_makes_a_realtime_one_when_asked() -> None:
    channel = open_channel("sqlite:///unused.db", kind="realtime", realtime_url="http://127.0.0.1:1")
    assert isinstance(channel, RealtimeChannel) and channel.channel == "learninngest-chat"
    await channel.close()


async def test_a_server_without_realtime_costs_the_view_not_the_run() -> None:
    # A server that serves no Realtime (404 everywhere): the worker's stream goes on, and each
    # of the two sides says so once.
    with (
        BackgroundServer(FastAPI(), name="no-realtime") as server,
        capture_log("learninngest", "%(name)s %(levelname)s %(message)s") as lines,
    ):
        channel = RealtimeChannel(server.url, channel=CHANNEL)
        stream = RunStream(channel, "r3")
        await stream.start_attempt(1)
        for n in range(20):
            await stream.token(f"t{n}")
        await stream.text_complete()
        await stream.done(attempts=1)
        await channel.close()

    warnings = [line for line in lines.lines if " WARNING " in line]
    assert len([w for w in warnings if w.startswith("learninngest.worker")]) == 1, warnings
    assert len([w for w in warnings if w.startswith("learninngest.stream")]) == 1, warnings
    assert "404" in "".join(warnings)
