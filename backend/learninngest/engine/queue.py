"""Runs ordered by their next due time (real unix seconds), one activation per run at a time.

The executor pops what is due and starts a task per run. A run scheduled while its task is
still active is held back and pushed again when the task is done, so a run never has two
calls in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools


class RunQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str]] = []
        self._due: dict[str, float] = {}
        self._active: set[str] = set()
        self._seq = itertools.count()
        self._wake: asyncio.Event | None = None

    def _event(self) -> asyncio.Event:
        if self._wake is None:
            self._wake = asyncio.Event()
        return self._wake

    def schedule(self, run_id: str, due: float) -> None:
        """(Re)schedule a run; the latest call wins."""
        self._due[run_id] = due
        if run_id not in self._active:
            heapq.heappush(self._heap, (due, next(self._seq), run_id))
        self._event().set()

    def wake(self) -> None:
        """Make `wait` return now: the clock moved on, so what is due may have changed."""
        self._event().set()

    def unschedule(self, run_id: str) -> None:
        self._due.pop(run_id, None)

    def pop_due(self, now: float) -> list[str]:
        """Runs whose time has come; they count as active until done() is called."""
        out = []
        while self._heap and self._heap[0][0] <= now:
            due, _, run_id = heapq.heappop(self._heap)
            if self._due.get(run_id) != due or run_id in self._active:
                continue  # stale entry: rescheduled, unscheduled or already running
            del self._due[run_id]
            self._active.add(run_id)
            out.append(run_id)
        return out

    def done(self, run_id: str) -> None:
        self._active.discard(run_id)
        if run_id in self._due:
            heapq.heappush(self._heap, (self._due[run_id], next(self._seq), run_id))
            self._event().set()

    def next_due(self) -> float | None:
        while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    async def wait(self, seconds: float | None) -> None:
        """Sleep until something is scheduled or `seconds` pass (None: until scheduled)."""
        event = self._event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
        # Cleared before pop_due runs (no await in between), so no wake-up is lost.
        event.clear()

    def is_active(self, run_id: str) -> bool:
        """The run was popped and its activation has not finished yet."""
        return run_id in self._active

    @property
    def active(self) -> int:
        return len(self._active)

    @property
    def pending(self) -> int:
        return len(self._due)
