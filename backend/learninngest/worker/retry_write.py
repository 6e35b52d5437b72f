"""A failure handler's store write, retried in-process: its Inngest run gets no retries of its own.

The SDK registers `on_failure` handlers with 0 retries, so a store that is down for
a moment would otherwise lose the write; the reconciler (worker/reconciler.py) is the
backstop for longer outages.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from learninngest.store.base import ChatRecord, ResultStore, StoreUnavailable

log = logging.getLogger("learninngest.worker")

DELAYS_S = (0.5, 1.0, 2.0, 4.0)
"""Waits between tries: five tries within about 8 s (plus each try's own timeout)."""


async def finish_with_retries(store: ResultStore, request_id: str, **fields: Any) -> ChatRecord | None:
    """`store.finish(...)`, tried again after each StoreUnavailable until DELAYS_S runs out."""
    for delay in (*DELAYS_S, None):
        try:
            return await store.finish(request_id, **fields)
        except StoreUnavailable as exc:
            if delay is None:
                raise
            log.warning("store write failed, retrying in %.1f s: %s", delay, exc)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
