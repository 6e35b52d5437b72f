"""The purge that runs by itself (store/purging.py)."""

from __future__ import annotations

import asyncio

import pytest

from learninngest.store import ChatRecord, Status, open_store
from learninngest.store.purging import purge_period, purge_periodically
from tests.support import async_wait_for

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(("retention_s", "period"), [(0.5, 1.0), (60, 6.0), (7 * 86_400, 3600.0)])
def test_purge_period_is_a_tenth_of_retention_between_1_s_and_an_hour(
    retention_s: float, period: float
) -> None:
    assert purge_period(retention_s) == period


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
