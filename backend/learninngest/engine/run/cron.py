"""Cron triggers: compute each one's next fire time and start its run when it comes.

Cron runs on the virtual clock (clock.virtual_now: the time scale applies, so `*/10 * * * *`
fires every 6 s at a scale of 0.01), and so does the trigger's jitter, which spreads a crowd
of functions with the same schedule. The event's `ts` is the cron time it fires for. A clock
moved on by hand (`Clock.advance`, `POST /v1/clock/advance`) wakes the loop: what fell due
fires at once: one run per schedule however far the clock moved (the cron times it passed
over are not made up one by one).
"""

from __future__ import annotations

import asyncio
import contextlib

from croniter import croniter

from learninngest.engine.clock import Clock
from learninngest.engine.flow import jitter
from learninngest.engine.internal_events import SCHEDULED
from learninngest.engine.run.hooks import RunHooks
from learninngest.engine.run.lifecycle import RunLifecycle
from learninngest.engine.state.db import State
from learninngest.engine.sync.registry import Registry

# Wake at least this often (real seconds), so that functions synced meanwhile are picked up.
POLL_S = 1.0


def cron_next(expr: str, now: float) -> float:
    """Next fire time (unix seconds, UTC) of a cron expression strictly after `now`."""
    return float(croniter(expr, now).get_next(float))


class Cron:
    def __init__(
        self, state: State, clock: Clock, registry: Registry, runs: RunLifecycle, hooks: RunHooks
    ) -> None:
        self.state = state
        self.clock = clock
        self.registry = registry
        self.runs = runs
        self.hooks = hooks
        self._next: dict[tuple[str, str], tuple[float, float]] = {}  # (cron time, due), virtual
        self._task: asyncio.Task[None] | None = None
        self._woken: asyncio.Event | None = None

    def start(self) -> None:
        self._woken = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="engine-cron")

    def wake(self) -> None:
        """Look at the schedules again now (the clock was moved on: a cron time may be due)."""
        if self._woken is not None:
            self._woken.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def tick(self, now: float) -> float:
        """Start the runs of every cron trigger whose time has come (`now`: virtual time);
        returns the real seconds until the next one is due (at most POLL_S)."""
        wake = POLL_S
        for fn in self.registry.all():
            for trigger in (t for t in fn.triggers if t.cron):
                cron = str(trigger.cron)
                key = (fn.slug, cron)
                at, due = self._next.setdefault(key, _next_cron(cron, trigger.jitter_s, now))
                if due <= now:
                    ts = int(at * 1000)  # the cron time it fires for, on the virtual clock
                    at, due = self._next[key] = _next_cron(cron, trigger.jitter_s, now)
                    event = {"name": SCHEDULED, "data": {"cron": cron}, "ts": ts}
                    event_id = self.hooks.emit(event, False)
                    self.runs.create_run(fn, self.state.get_event_body(event_id), event_id, cron=cron)
                wake = min(wake, self.clock.real_delay(due - now))
        return wake

    async def _loop(self) -> None:
        # A timer that a moved clock cuts short (wake); stop() cancels it.
        woken = self._woken
        assert woken is not None
        while True:
            woken.clear()
            delay = self.tick(self.clock.virtual_now())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), delay)


def _next_cron(cron: str, jitter_s: float, now: float) -> tuple[float, float]:
    """The next cron time after `now` (virtual) and when to fire for it (plus its jitter)."""
    at = cron_next(cron, now)
    return at, at + jitter.delay(jitter_s)
