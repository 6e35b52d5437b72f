"""The purge that runs by itself: every so often, the store drops what its retention allows.

The backend's lifespan starts `purge_periodically`; a purge that fails (the store is down)
is logged and tried again at the next period.
"""

from __future__ import annotations

import asyncio
import logging

from learninngest.retention import purge_period
from learninngest.store.base import ResultStore

log = logging.getLogger("learninngest.store")


async def purge_periodically(store: ResultStore) -> None:
    """Purge now, then every purge_period(store.retention_s), until cancelled."""
    period = purge_period(store.retention_s)
    while True:
        try:
            purged = await store.purge()
        except Exception as exc:
            log.warning("result purge failed (will retry in %gs): %s", period, exc)
        else:
            if purged.records or purged.keys:
                log.info(
                    "purged %d final record(s) older than %gs and %d expired idempotency key(s)",
                    purged.records,
                    store.retention_s,
                    purged.keys,
                )
        await asyncio.sleep(period)
