"""Runs waiting for a throttle, kept in priority order (in memory: a restart rebuilds it).

The real queue keeps a function's queued items sorted by score (`run created − priority
factor`) and, when a throttle key is limited, leaves the items behind it in that order, so
the next start the throttle allows goes to the lowest score waiting for the key. Here a
throttled run is re-activated when the throttle allows its next start; `first()` says
whether another run waiting for the same key comes before it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable


class Waiting:
    def __init__(self) -> None:
        self._heaps: dict[Hashable, list[tuple[float, str]]] = {}
        self._score: dict[str, tuple[Hashable, float]] = {}

    def __len__(self) -> int:
        return len(self._score)

    def add(self, key: Hashable, run_id: str, score: float) -> None:
        if self._score.get(run_id) == (key, score):
            return
        self._score[run_id] = (key, score)
        heapq.heappush(self._heaps.setdefault(key, []), (score, run_id))

    def discard(self, run_id: str) -> None:
        """The run started or ended; its heap entry goes lazily."""
        self._score.pop(run_id, None)

    def first(self, key: Hashable, alive: Callable[[str], bool]) -> tuple[float, str] | None:
        """The lowest (score, run id) still waiting for `key`; entries `alive` rejects go."""
        heap = self._heaps.get(key)
        while heap:
            score, run_id = heap[0]
            if self._score.get(run_id) == (key, score) and alive(run_id):
                return score, run_id
            heapq.heappop(heap)
            if self._score.get(run_id) == (key, score):
                del self._score[run_id]
        self._heaps.pop(key, None)
        return None
