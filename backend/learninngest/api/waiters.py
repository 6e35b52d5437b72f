"""Wakes long-polls as soon as the worker in this process finishes a request.

Results written by another process (a shared Redis store) are still found, by
the long-poll's periodic re-read of the store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict


class ResultWaiters:
    def __init__(self) -> None:
        self._waiting: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(set)

    def notify(self, request_id: str) -> None:
        """Safe from any thread: wakes every waiter of `request_id`."""
        for loop, event in list(self._waiting.get(request_id, ())):
            with contextlib.suppress(RuntimeError):  # that loop is already closed
                loop.call_soon_threadsafe(event.set)

    async def wait(self, request_id: str, seconds: float) -> bool:
        """Wait up to `seconds` for a notification; True when one came."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        self._waiting[request_id].add(entry)
        try:
            async with asyncio.timeout(seconds):
                await entry[1].wait()
            return True
        except TimeoutError:
            return False
        finally:
            waiters = self._waiting.get(request_id)
            if waiters is not None:
                waiters.discard(entry)
                if not waiters:
                    self._waiting.pop(request_id, None)
