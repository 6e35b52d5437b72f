"""Concurrency slots per key, handed out in priority order (in memory: calls die with the process).

A run asks for all its keys at once (its function's limit and up to two keyed limits, each
with its own limit); it gets them together or waits. Waiters are served lowest score
first (`priority.queue_score`), and a waiter that does not fit holds back later waiters
on the keys that are full for it, so a high-priority run is not overtaken on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

Want = tuple[str, int]  # (slot key, limit)


@dataclass(order=True)
class _Waiter:
    score: float
    seq: int
    wants: list[Want] = field(compare=False)
    future: asyncio.Future[None] = field(compare=False)


class Slots:
    def __init__(self) -> None:
        self._used: dict[str, int] = {}
        self._waiters: list[_Waiter] = []
        self._seq = itertools.count()

    def used(self, key: str) -> int:
        return self._used.get(key, 0)

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def _fits(self, wants: list[Want]) -> bool:
        return all(self._used.get(key, 0) < limit for key, limit in wants)

    def _take(self, wants: list[Want]) -> None:
        for key, _ in wants:
            self._used[key] = self._used.get(key, 0) + 1

    def _release(self, wants: list[Want]) -> None:
        for key, _ in wants:
            left = self._used.get(key, 0) - 1
            if left > 0:
                self._used[key] = left
            else:
                self._used.pop(key, None)
        self._grant()

    def _grant(self) -> None:
        blocked: set[str] = set()
        for waiter in sorted(self._waiters):
            keys = {key for key, _ in waiter.wants}
            if keys & blocked or waiter.future.done():
                continue
            if self._fits(waiter.wants):
                self._take(waiter.wants)
                waiter.future.set_result(None)
            else:
                # Later waiters may not take the keys this one waits for; its other keys stay free.
                blocked |= {key for key, limit in waiter.wants if self._used.get(key, 0) >= limit}
        self._waiters = [w for w in self._waiters if not w.future.done()]

    @contextlib.asynccontextmanager
    async def hold(self, wants: list[Want], score: float) -> AsyncIterator[None]:
        """Hold one slot of every key in `wants` for the duration of the block."""
        if not wants:
            yield
            return
        waiter = _Waiter(score, next(self._seq), wants, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        self._grant()
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                self._release(wants)  # granted just as we were cancelled: give it back
            else:
                self._waiters = [w for w in self._waiters if w is not waiter]
                self._grant()
            raise
        try:
            yield
        finally:
            self._release(wants)
