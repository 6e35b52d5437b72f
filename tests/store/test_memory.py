"""The memory store keeps records packed in tuples; callers still get copies they may change."""

from __future__ import annotations

import pytest

from learninngest.store import ChatRecord, Status
from learninngest.store.memory import MemoryStore

pytestmark = pytest.mark.anyio


async def test_records_go_in_and_come_out_as_copies() -> None:
    store = MemoryStore()
    mine = ChatRecord(request_id="r1", query="hello", event_ids=["e1"])
    await store.create(mine)
    mine.event_ids.append("changed by the caller")
    got = await store.get("r1")
    assert got is not None and got.event_ids == ["e1"]
    got.event_ids.append("changed by a reader")
    finished = await store.finish("r1", status=Status.done, content="hi", usage={"total_tokens": 3})
    assert finished is not None and finished.usage is not None
    finished.usage["total_tokens"] = 99
    final = await store.get("r1")
    assert final is not None
    assert (final.status, final.content, final.event_ids, final.usage) == (
        Status.done,
        "hi",
        ["e1"],
        {"total_tokens": 3},
    )
    assert final.final and final.completed_at is not None
