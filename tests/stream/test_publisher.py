"""RunStream, the worker's side: what it publishes, and that a broken channel never fails a run."""

from __future__ import annotations

from typing import Any

import pytest

from learninngest.stream import EventType
from learninngest.stream.memory import MemoryChannel
from learninngest.stream.publisher import RunStream
from tests.support import capture_log

pytestmark = pytest.mark.anyio


async def test_attempts_tokens_and_done_in_order() -> None:
    channel = MemoryChannel()
    stream = RunStream(channel, "req")
    await stream.start_attempt(1)
    await stream.token("Par")
    await stream.start_attempt(2)
    await stream.token("Paris")
    await stream.done(attempts=2)

    events = await channel.read("req", after=None, wait=0)

    assert [(e.type, e.data) for e in events] == [
        (EventType.status, {"status": "running", "attempt": 1}),
        (EventType.token, {"text": "Par", "attempt": 1}),
        (EventType.retry, {"attempt": 2}),
        (EventType.status, {"status": "running", "attempt": 2}),
        (EventType.token, {"text": "Paris", "attempt": 2}),
        (EventType.done, {"attempts": 2}),
    ]


class BrokenChannel(MemoryChannel):
    async def publish(self, request_id: str, type: EventType, data: dict[str, Any]) -> str:
        raise ConnectionError("redis is gone")


async def test_a_broken_channel_costs_the_view_not_the_run() -> None:
    stream = RunStream(BrokenChannel(), "req")
    with capture_log("learninngest.worker") as log:
        await stream.start_attempt(1)
        for text in ("a", "b", "c"):
            await stream.token(text)
        await stream.done(attempts=1)
    assert log.lines == [
        "WARNING learninngest.worker [-] stream channel unavailable (status: redis is gone); the run goes on"
    ]


async def test_no_channel_publishes_nothing() -> None:
    stream = RunStream(None, "req")
    await stream.start_attempt(1)
    await stream.token("x")  # nothing to do, nothing raised
