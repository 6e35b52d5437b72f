"""FlowControl: what intake and the executor ask before a run exists and before it starts.

- `on_event(fn, event, id)` (intake, once per triggered function): handed to
  `arrivals.Arrivals` (rate limit, debounce, batch, singleton).
- `before_start(run, fn)` (executor, before a run's first call): start timeout, the delay
  of a negative priority, throttle; answers None (go) or the real time to ask again.
- `slots(run, fn)` (executor, around every call): the function's and keyed concurrency
  limits, waiters served in priority order.
- a timer task: starts debounced and batched runs when due, cancels runs whose
  `timeouts` passed.
- `register(run, fn)`: what it keeps per run (keys, priority factor, deadlines).

Each decision is a pure module beside this one; this class only loads and stores state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from learninngest.engine.clock import Clock
from learninngest.engine.flow import gcra, keys, priority, timeouts
from learninngest.engine.flow.arrivals import Arrivals, key_of
from learninngest.engine.flow.slots import Slots
from learninngest.engine.flow.store import FlowStore, RunFlow
from learninngest.engine.flow.waiting import Waiting
from learninngest.engine.state.db import State
from learninngest.engine.state.models import EngineOp, Run, RunStatus, StepStatus
from learninngest.engine.sync.payload import Gcra

if TYPE_CHECKING:
    from learninngest.engine.flow.runs import Runs
    from learninngest.engine.sync.functions import FunctionDef
    from learninngest.engine.sync.registry import Registry

log = logging.getLogger("learninngest.engine")

TIMER_POLL_S = 1.0  # real seconds: the timer task looks at least this often
TIMER_MIN_S = 0.002  # and at most this often


class FlowControl:
    def __init__(self, state: State, clock: Clock, registry: Registry, runs: Runs) -> None:
        self.state = state
        self.clock = clock
        self.registry = registry
        self.runs = runs
        self.store = FlowStore(state)
        self.arrivals = Arrivals(state, clock, registry, runs, self.store, self.register, self._poke)
        self.slots_held = Slots()
        self.throttled = Waiting()
        self._task: asyncio.Task[None] | None = None
        self._timer_wake: asyncio.Event | None = None

    # --- lifecycle (the executor starts and stops it with the run loop)
    def start(self) -> None:
        self.slots_held = Slots()
        self.throttled = Waiting()
        self._timer_wake = asyncio.Event()
        self._task = asyncio.create_task(self._timer_loop(), name="engine-flow-timers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def _poke(self) -> None:
        if self._timer_wake is not None:
            self._timer_wake.set()

    def wake(self) -> None:
        """Look at the timers again now (the clock was moved on)."""
        self._poke()

    # --- intake: an event triggered `fn` (rate limit, debounce, batch, singleton: arrivals.py)
    def on_event(self, fn: FunctionDef, event: dict[str, Any], event_id: str) -> None:
        self.arrivals.on_event(fn, event, event_id)

    def repeated(self, fn: FunctionDef, event: dict[str, Any], event_id: str) -> str | None:
        """The function's idempotency key for this event if it was seen in the last 24 h."""
        return self.arrivals.repeated(fn, event, event_id)

    def on_invoke(self, fn: FunctionDef, event: dict[str, Any], event_id: str) -> None:
        """`step.invoke` started `fn`: its flow control applies as to any event (arrivals.py)."""
        self.arrivals.on_invoke(fn, event, event_id)

    def decisions(self, event_id: str) -> list[dict[str, Any]]:
        """What flow control decided for one event (REST and the dashboard show them)."""
        return self.store.decisions(event_id)

    def register(self, run: Run, fn: FunctionDef, singleton_key: str | None = None) -> RunFlow:
        """Compute and store what flow control needs to know about a new run."""
        cfg, scale = fn.flow, self.clock.scale
        if not cfg.per_run:
            return RunFlow(run.run_id, fn.slug)  # nothing to remember: no row, no reads later
        throttle_key = None
        if cfg.throttle is not None:
            throttle_key = key_of(cfg.throttle.key, run.event)
        rf = RunFlow(
            run_id=run.run_id,
            function_slug=fn.slug,
            priority=priority.factor(cfg.priority, run.event),
            slot_keys=keys.slot_keys(fn.slug, fn.flow.concurrency, run.event),
            throttle_key=throttle_key,
            singleton_key=singleton_key,
        )
        if cfg.timeouts is not None:
            rf.start_by = timeouts.start_deadline(run.started, cfg.timeouts.start, scale)
            rf.finish_s = cfg.timeouts.finish
        self.store.save_run(rf)
        if rf.start_by is not None:
            self._poke()
        return rf

    def _flow(self, run: Run, fn: FunctionDef) -> RunFlow:
        """The run's flow data; runs created elsewhere (cron, invoke, before an upgrade) get it now."""
        if not fn.flow.per_run:
            return RunFlow(run.run_id, fn.slug)
        return self.store.get_run(run.run_id) or self.register(run, fn)

    # --- executor: before the first call
    def before_start(self, run: Run, fn: FunctionDef) -> float | None:
        """None: the run may start now. A number: ask again at that real time. Cancels on start timeout."""
        rf, now, scale = self._flow(run, fn), self.clock.now(), self.clock.scale
        if rf.started is not None:
            return None
        if timeouts.expired(rf.start_by, None, None, now) == "start":
            self._expire(run, fn, "start")
            return float("inf")
        delay = priority.start_delay(rf.priority) * scale
        if now < run.started + delay:
            return min(run.started + delay, rf.start_by or float("inf"))
        th = fn.flow.throttle
        if th is not None and rf.throttle_key is not None:
            again_at = self._throttle(run, rf, th, now, scale)
            if again_at is not None:
                return min(again_at, rf.start_by or float("inf"))
        return None

    def _throttle(self, run: Run, rf: RunFlow, th: Gcra, now: float, scale: float) -> float | None:
        """None: the throttle lets the run start now. A number: the real time to ask again.

        As in the real queue, the runs waiting for a key start in priority order: a start
        the throttle allows goes to the lowest `queue_score` waiting, which is woken for it.
        """
        kind_key = ("throttle", rf.function_slug, rf.throttle_key or "")
        period, capacity = th.period * scale, gcra.throttle_capacity(th.limit, th.burst)
        verdict = gcra.check(self.store.tat(*kind_key), now, period, th.limit, capacity)
        mine = (priority.queue_score(run.started, rf.priority, scale), run.run_id)
        ahead = self.throttled.first(kind_key, self._still_queued)
        if ahead is not None and ahead >= mine:
            ahead = None  # this run is the first in line
        if verdict.allowed and ahead is None:
            self.store.set_tat(*kind_key, verdict.tat)
            self.throttled.discard(run.run_id)
            return None
        self.throttled.add(kind_key, run.run_id, mine[0])
        retry_at = verdict.retry_at
        if verdict.allowed and ahead is not None:
            # This start belongs to the run ahead: wake it; ask again once it has taken it.
            self._wake(ahead[1], now)
            retry_at = gcra.check(verdict.tat, now, period, th.limit, capacity).retry_at
        if rf.throttled_seq is None:
            wait_s = (retry_at - now) / scale  # intended seconds
            shape = {"key": rf.throttle_key, "limit": th.limit, "period_s": th.period, "burst": th.burst}
            rf.throttled_seq = self.runs.row(
                run,
                step_id="throttle",
                name="throttle",
                op=EngineOp.THROTTLE,
                status=StepStatus.THROTTLED,
                started=now,
                ended=None,
                output=shape,
                scheduled=now + wait_s,
                delay_ms=int(wait_s * 1000),
            )
            self.store.save_run(rf)
            log.info("run_id=%s throttled (key %r)", run.run_id, rf.throttle_key)
        return retry_at

    def _still_queued(self, run_id: str) -> bool:
        run = self.state.get_run(run_id)
        return run is not None and not run.finished and run.status == RunStatus.SCHEDULED

    def _wake(self, run_id: str, now: float) -> None:
        """Activate a queued run now (unless it is being activated already)."""
        if not self.runs.is_active(run_id):
            self.runs.schedule(run_id, now)

    def started(self, run: Run, fn: FunctionDef) -> None:
        """The run's first call begins: close its waits, start its finish timeout."""
        if not fn.flow.per_run:
            return
        rf, now = self._flow(run, fn), self.clock.now()
        if rf.started is not None:
            return
        rf.started = now
        if rf.finish_s is not None:
            rf.finish_by = timeouts.finish_deadline(now, rf.finish_s, self.clock.scale)
            self._poke()
        if rf.throttled_seq is not None:
            # The row said when the throttle would next have room; it now says how long this run
            # waited from being queued, in virtual time (runs further back in line wait longer).
            waited_s = max(0.0, now - run.started) / self.clock.scale
            self.state.update_step(
                rf.throttled_seq,
                status=StepStatus.COMPLETED,
                ended=now,
                scheduled_for_intended=run.started + waited_s,
                intended_delay_ms=int(waited_s * 1000),
            )
        self.store.save_run(rf)

    # --- executor: around every call
    @contextlib.asynccontextmanager
    async def slots(self, run: Run, fn: FunctionDef) -> AsyncIterator[None]:
        rf = self._flow(run, fn)
        score = priority.queue_score(run.started, rf.priority, self.clock.scale)
        async with self.slots_held.hold(rf.slot_keys or [], score):
            yield

    # --- timers: due debounces and batches, expired timeouts
    def tick(self) -> None:
        now = self.clock.now()
        for pending in self.store.due_pending(now):
            with self.state.tx():
                self.store.drop_pending(pending)
                self.arrivals.flush(pending, "timeout")
        for run, rf in self.store.expired_runs(now):
            which = timeouts.expired(rf.start_by, rf.finish_by, rf.started, now)
            if which is not None:
                self._expire(run, self.registry.get(run.function_slug), which)

    def _expire(self, run: Run, fn: FunctionDef | None, which: str) -> None:
        """A `timeouts` limit passed: cancel the run, with a timeline row saying which."""
        if run.finished:
            return
        limits = fn.flow.timeouts if fn is not None else None
        why = timeouts.reason(which, None if limits is None else getattr(limits, which))
        now = self.clock.now()
        with self.state.tx():
            err = {"name": "FunctionTimeout", "message": why}
            self.runs.row(
                run,
                step_id="timeout",
                name=f"timeouts.{which}",
                op=EngineOp.TIMEOUT,
                status=StepStatus.CANCELLED,
                started=now,
                ended=now,
                error=err,
            )
            self.runs.cancel(run, why)

    def next_wake(self) -> float | None:
        times = [t for t in (self.store.next_pending(), self.store.next_deadline()) if t is not None]
        return min(times) if times else None

    async def _timer_loop(self) -> None:
        assert self._timer_wake is not None
        while True:
            try:
                self.tick()
            except Exception:
                log.exception("flow control timer failed; it will look again shortly")
            nxt = self.next_wake()
            # A floor, so something that stays due (a failing tick) cannot spin the loop.
            wait = (
                TIMER_POLL_S if nxt is None else min(TIMER_POLL_S, max(TIMER_MIN_S, nxt - self.clock.now()))
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._timer_wake.wait(), wait)
            self._timer_wake.clear()
