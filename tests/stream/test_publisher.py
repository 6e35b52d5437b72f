"""RunStream, the worker's side: what it publishes, and that a broken channel never fails a run."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from learninngest.stream import EventType, publisher
from learninngest.stream.memory import MemoryChannel
from learninngest.stream.publisher import RunStream
from tests.support import async_wait_for, capture_log

pytestmark = pytest.mark.anyio


async def test_attempts_tokens_and_done_in_order() -> None:
    channel = MemoryChannel()
    stream = RunStream(channel, "req", flush_s=0)  # each token at once
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


async def test_the_first_token_goes_out_at_once_on_a_machine_just_booted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The monotonic clock counts from boot: 30 s after it, a first token must not wait for a
    flush period of an hour (a fresh CI machine held it back when "nothing sent" was 0.0)."""
    monkeypatch.setattr(publisher, "time", SimpleNamespace(monotonic=lambda: 30.0))
    channel = MemoryChannel()
    stream = RunStream(channel, "req", flush_s=3600)
    await stream.start_attempt(1)
    await stream.token("The ")
    events = await channel.read("req", after=None, wait=0)
    assert [(e.type, e.data) for e in events][-1] == (EventType.token, {"text": "The ", "attempt": 1})
    await stream.token("capital")  # the second waits for the flush period, as it should
    assert len(await channel.read("req", after=None, wait=0)) == len(events)
    await stream.done(attempts=1)


async def test_batched_tokens_keep_every_piece_in_order_and_the_first_goes_out_at_once() -> None:
    channel = MemoryChannel()
    stream = RunStream(channel, "req", flush_s=3600)  # nothing but the first leaves on its own
    await stream.start_attempt(1)
    await stream.token("The ")
    first = await channel.read("req", after=None, wait=0)
    assert [(e.type, e.data) for e in first][-1] == (EventType.token, {"text": "The ", "attempt": 1})

    for text in ("capital ", "is ", "Paris."):
        await stream.token(text)
    assert len(await channel.read("req", after=None, wait=0)) == len(first)  # still batched
    await stream.done(attempts=1)  # sends what waits, then done

    events = await channel.read("req", after=None, wait=0)
    assert [(e.type, e.data) for e in events[len(first) :]] == [
        (EventType.token, {"text": "capital is Paris.", "attempt": 1}),
        (EventType.done, {"attempts": 1}),
    ]


async def test_a_batch_goes_out_after_flush_s_even_when_no_token_follows() -> None:
    channel = MemoryChannel()
    stream = RunStream(channel, "req", flush_s=0.05)
    await stream.start_attempt(1)
    await stream.token("a")
    await stream.token("b")  # within flush_s of "a": waits for the timer

    async def both_sent() -> None:
        events = await channel.read("req", after=None, wait=0)
        assert "".join(e.data["text"] for e in events if e.type is EventType.token) == "ab"

    await async_wait_for(both_sent)


async def test_the_text_of_a_failed_attempt_is_sent_before_the_retry() -> None:
    channel = MemoryChannel()
    stream = RunStream(channel, "req", flush_s=3600)
    await stream.start_attempt(1)
    for text in ("Par", "is", " is"):
        await stream.token(text)
    await stream.text_complete()  # the worker's `finally`, whether the call failed or not
    retried = RunStream(channel, "req", flush_s=3600)  # the next attempt: another call, another RunStream
    await retried.start_attempt(2)

    events = await channel.read("req", after=None, wait=0)
    assert [(e.type, e.data) for e in events] == [
        (EventType.status, {"status": "running", "attempt": 1}),
        (EventType.token, {"text": "Par", "attempt": 1}),
        (EventType.token, {"text": "is is", "attempt": 1}),
        (EventType.retry, {"attempt": 2}),
        (EventType.status, {"status": "running", "attempt": 2}),
    ]
