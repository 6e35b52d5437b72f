"""The in-process channel keeps events packed; readers still get StreamEvents they may change."""

from __future__ import annotations

import pytest

from learninngest.stream.base import EventType
from learninngest.stream.memory import MemoryChannel

pytestmark = pytest.mark.anyio


async def test_packed_events_read_back_as_published_and_a_reader_cannot_change_them() -> None:
    channel = MemoryChannel()
    await channel.publish("r1", EventType.status, {"status": "running", "attempt": 1})
    await channel.publish("r1", EventType.token, {"text": "Par", "attempt": 1})
    await channel.publish("r1", EventType.token, {"text": "is", "attempt": 1, "extra": True})
    await channel.publish("r1", EventType.done, {"attempts": 1})
    events = await channel.read("r1", after=None, wait=0)
    assert [(e.id, e.type, e.data) for e in events] == [
        ("1", EventType.status, {"status": "running", "attempt": 1}),
        ("2", EventType.token, {"text": "Par", "attempt": 1}),
        ("3", EventType.token, {"text": "is", "attempt": 1, "extra": True}),
        ("4", EventType.done, {"attempts": 1}),
    ]
    for event in events:
        event.data.clear()
    again = await channel.read("r1", after="1", wait=0)
    assert [e.data for e in again] == [
        {"text": "Par", "attempt": 1},
        {"text": "is", "attempt": 1, "extra": True},
        {"attempts": 1},
    ]
