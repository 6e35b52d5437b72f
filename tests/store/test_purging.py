"""The purge that runs by itself (store/purging.py)."""

from __future__ import annotations

import asyncio

import pytest

from learninngest.store import ChatRecord, Status, open_store
from learninngest.store.purging import purge_periodically
from tests.support import async_wait_for

pytestmark = pytest.mark.anyio


async def test_the_periodic_purge_removes_old_records_without_being_asked() -> None:
    store = open_store("memory://", retention_s=1)
    await store.create(ChatRecord(request_id="old", query="q"))
    await store.finish("old", status=Status.done, content="Paris")
    task = asyncio.create_task(purge_periodically(store))
    try:

        async def gone() -> None:
            assert await store.get("old") is None

        await async_wait_for(gone, timeout=15, interval=0.2)
    finally:
        task.cancel()
