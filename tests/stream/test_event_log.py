"""The shared per-request log (stream/event_log.py): ids, replay, bounds, drops, waiters."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from learninngest.stream.base import EventType
from learninngest.stream.event_log import MAX_GIVEN_ID, EventLog
from learninngest.stream.realtime import TOPIC, RealtimeChannel
from tests.support import async_wait_for

pytestmark = pytest.mark.anyio


def token(text: str, attempt: int = 1) -> dict[str, object]:
    return {"text": text, "attempt": attempt}


def texts(events: list) -> list[str]:
    return [e.data["text"] for e in events]


async def until_waiting(log: EventLog, request_id: str, readers: int = 1) -> None:
    """Until `readers` reads wait on the request's log (a state, not a time)."""

    async def check() -> None:
        assert len(log._logs[request_id].readers) >= readers

    await async_wait_for(check)


async def test_numbered_ids_count_from_one_per_request_and_replay_after_an_id() -> None:
    log = EventLog(ttl_s=60)
    assert [log.append("a", EventType.token, token(t)) for t in "xyz"] == ["1", "2", "3"]
    assert log.append("b", EventType.done, {}) == "1"

    assert texts(await log.read("a", after="1", wait=0)) == ["y", "z"]
    assert [e.id for e in await log.read("a", after=None, wait=0)] == ["1", "2", "3"]
    assert await log.read("a", after="3", wait=0) == []
    assert await log.read("a", after="99", wait=0) == []


async def test_given_ids_are_kept_in_order_and_each_is_filed_once() -> None:
    log = EventLog(ttl_s=60, given_ids=True)
    log.add("r", [(10, EventType.token, token("a")), (20, EventType.token, token("c"))])
    # The echo of what was filed, with one new event and one that came late (id 15).
    log.add(
        "r", [(10, EventType.token, token("a")), (30, EventType.done, {}), (15, EventType.token, token("b"))]
    )

    events = await log.read("r", after=None, wait=0)
    assert [e.id for e in events] == ["10", "15", "20", "30"]
    assert texts(events[:3]) == ["a", "b", "c"]
    assert [e.id for e in await log.read("r", after="15", wait=0)] == ["20", "30"]
    assert [e.id for e in await log.read("r", after=str(MAX_GIVEN_ID * 10), wait=0)] == []


async def test_a_log_keeps_its_newest_events_and_numbered_ids_go_on() -> None:
    numbered = EventLog(ttl_s=60, max_events=3)
    ids = [numbered.append("r", EventType.token, token(str(n))) for n in range(5)]
    assert ids == ["1", "2", "3", "4", "5"]
    events = await numbered.read("r", after=None, wait=0)
    assert [(e.id, e.data["text"]) for e in events] == [("3", "2"), ("4", "3"), ("5", "4")]
    assert texts(await numbered.read("r", after="4", wait=0)) == ["4"]

    given = EventLog(ttl_s=60, given_ids=True, max_events=2)
    given.add("r", [(n, EventType.token, token(str(n))) for n in (1, 2, 3)])
    assert [e.id for e in await given.read("r", after=None, wait=0)] == ["2", "3"]


async def test_old_logs_are_dropped_and_the_drop_callback_hears_of_each() -> None:
    dropped: list[str] = []
    log = EventLog(ttl_s=60, max_requests=2, on_drop=dropped.append)
    for request_id in ("a", "b", "c"):
        log.append(request_id, EventType.done, {})
    assert dropped == ["a"] and len(log) == 2
    assert await log.read("a", after=None, wait=0) == []  # gone (the read opens an empty one)

    stale = EventLog(ttl_s=0, on_drop=dropped.append)  # everything is old at once
    stale.append("old", EventType.done, {})
    stale.append("new", EventType.done, {})
    assert dropped[-1] == "old"


async def test_a_log_someone_waits_on_is_kept_past_its_time() -> None:
    log = EventLog(ttl_s=0)
    reader = asyncio.create_task(log.read("followed", after=None, wait=10))
    await until_waiting(log, "followed")
    log.append("other", EventType.done, {})  # would expire "followed" if nobody waited
    log.append("followed", EventType.token, token("still here"))
    assert texts(await asyncio.wait_for(reader, 10)) == ["still here"]


async def test_waiters_wake_on_append_from_another_thread() -> None:
    log = EventLog(ttl_s=60, given_ids=True)
    readers = [asyncio.create_task(log.read("r", after=None, wait=10)) for _ in range(3)]
    await until_waiting(log, "r", readers=3)
    thread = threading.Thread(target=log.add, args=("r", [(7, EventType.retry, {"attempt": 2})]))
    thread.start()
    results = await asyncio.wait_for(asyncio.gather(*readers), 10)
    thread.join()
    assert all([(e.id, e.type) for e in events] == [("7", EventType.retry)] for events in results)
    assert not log._logs["r"].readers  # each reader left


async def test_a_wait_with_nothing_new_ends_empty() -> None:
    log = EventLog(ttl_s=60)
    log.append("r", EventType.token, token("x"))
    assert await log.read("r", after="1", wait=0.05) == []


def frame(request_id: str, events: list[dict[str, object]]) -> str:
    return json.dumps({"kind": "data", "topic": TOPIC, "data": {"request_id": request_id, "events": events}})


@pytest.mark.parametrize("bad_id", ["abc", "1.5", "-1", "٣", str(MAX_GIVEN_ID + 1), 1.5, True, None])
async def test_the_realtime_channel_drops_a_message_whose_ids_are_not_integers(bad_id: object) -> None:
    channel = RealtimeChannel("http://127.0.0.1:1", channel="ids")
    try:
        good = {"id": "5", "type": "token", "data": token("kept")}
        channel._receive(frame("r", [good]))
        channel._receive(frame("r", [{"id": bad_id, "type": "token", "data": token("dropped")}, good]))
        channel._receive(frame("r", [{"id": 6, "type": "done", "data": {}}]))  # an integer is fine
        events = await channel._log.read("r", after=None, wait=0)
        assert [(e.id, e.type) for e in events] == [("5", EventType.token), ("6", EventType.done)]
    finally:
        await channel.close()


async def test_the_realtime_channel_forgets_the_sender_of_a_dropped_log() -> None:
    channel = RealtimeChannel("http://127.0.0.1:1", channel="drops", ttl_s=0)
    try:
        channel._sending["ended-without-done"] = asyncio.Lock()
        channel._receive(frame("ended-without-done", [{"id": "1", "type": "token", "data": token("x")}]))
        channel._receive(frame("next", [{"id": "2", "type": "token", "data": token("y")}]))
        assert "ended-without-done" not in channel._sending
    finally:
        await channel.close()
