"""The engine's calls in flight, by run, each with its generation (fencing stale checkpoints).

Every call gets a new generation, sent as `X-Inngest-Generation-Id`; the TypeScript SDK
echoes it in the steps it checkpoints during the call (POST /v1/checkpoint/{run_id}/async,
run/checkpoint.py). A checkpoint whose generation is not a call of that run still in flight
comes from a call the engine gave up on (it timed out and was made again, or the engine
restarted): the real server refuses it as a stale dispatch (409, `pkg/execution/checkpoint`),
so the SDK stops, and so does the engine. Generations start at the wall clock in
microseconds, so a call from before a restart does not share one with a call after it
unless the engine made more than a million calls a second (the numbers stay below
JavaScript's largest safe integer). The check is off unless `dispatch_validation` (the Dev
Server's EXPERIMENTAL_ASYNC_DISPATCH_VALIDATION=true); the header is always sent, as there.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator


class Dispatches:
    def __init__(self) -> None:
        self._next = itertools.count(time.time_ns() // 1000)
        self._live: dict[str, set[int]] = {}

    @contextlib.contextmanager
    def call(self, run_id: str) -> Iterator[int]:
        """A call of `run_id` is in flight for the block; yields its generation."""
        generation = next(self._next)
        live = self._live.setdefault(run_id, set())
        live.add(generation)
        try:
            yield generation
        finally:
            live.discard(generation)
            if not live:
                self._live.pop(run_id, None)

    def stale(self, run_id: str, generation: int) -> str | None:
        """Why a checkpoint of `generation` is stale, or None while its call is in flight."""
        live = self._live.get(run_id)
        if not live:
            return f"stale dispatch: no call of run {run_id} is in flight (generation {generation})"
        if generation not in live:
            current = ", ".join(str(g) for g in sorted(live))
            return (
                f"stale dispatch: dispatch generation {generation} does not match"
                f" the call in flight ({current})"
            )
        return None
