"""Cron triggers: compute each one's next fire time and start its run when it comes.

Cron runs on real time (the engine's time scale does not apply), like the real server's
schedules; a jitter from the trigger spreads a crowd of functions with the same schedule.
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
        self._next: dict[tuple[str, str], float] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="engine-cron")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def tick(self, now: float) -> None:
        """Start the runs of every cron trigger whose time has come."""
        for fn in self.registry.all():
            for trigger in (t for t in fn.triggers if t.cron):
                cron = str(trigger.cron)
                key = (fn.slug, cron)
                due = self._next.setdefault(key, cron_next(cron, now) + jitter.delay(trigger.jitter_s))
                if due <= now:
                    self._next[key] = cron_next(cron, now) + jitter.delay(trigger.jitter_s)
                    event_id = self.hooks.emit({"name": SCHEDULED, "data": {"cron": cron}}, False)
                    self.runs.create_run(fn, self.state.get_event_body(event_id), event_id, cron=cron)

    async def _loop(self) -> None:
        while True:
            self.tick(self.clock.now())
            await asyncio.sleep(POLL_S)
