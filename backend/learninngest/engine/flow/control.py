"""FlowControl: what intake and the executor ask before a run exists and before it starts.

- `on_event(fn, event, id)` (intake, once per triggered function): rate limit (drop),
  debounce or batch (hold the event), otherwise start a run (singleton may skip it, or
  cancel the one running).
- `before_start(run, fn)` (executor, before a run's first call): start timeout, the delay
  of a negative priority, throttle; answers None (go) or the real time to ask again.
- `slots(run, fn)` (executor, around every call): the function's and keyed concurrency
  limits, waiters served in priority order.
- a timer task: starts debounced and batched runs when due, cancels runs whose
  `timeouts` passed.

Each decision is a pure module beside this one; this class only loads and stores state.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from learninngest.engine.clock import Clock
from learninngest.engine.flow import batch, debounce, gcra, priority, timeouts
from learninngest.engine.flow.config import FlowConfig
from learninngest.engine.flow.keys import NoKey, evaluate_key
from learninngest.engine.flow.slots import Slots, Want
from learninngest.engine.flow.store import FlowStore, Pending, RunFlow
from learninngest.engine.state import Run, State

if TYPE_CHECKING:
    from learninngest.engine.apps import Registry
    from learninngest.engine.functions import FunctionDef
    from learninngest.engine.run_lifecycle import RunLifecycle

log = logging.getLogger("learninngest.engine")

TIMER_POLL_S = 1.0  # real seconds: the timer task looks at least this often


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class FlowControl:
    def __init__(self, state: State, clock: Clock, registry: Registry, runs: RunLifecycle) -> None:
        self.state = state
        self.clock = clock
        self.registry = registry
        self.runs = runs
        self.store = FlowStore(state)
        self.slots_held = Slots()
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None

    # --- lifecycle (the executor starts and stops it with the run loop)
    def start(self) -> None:
        self.slots_held = Slots()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._timer_loop(), name="engine-flow-timers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # --- intake: an event triggered `fn`
    def on_event(self, fn: FunctionDef, event: dict[str, Any], event_id: str) -> None:
        cfg, now = fn.flow, self.clock.now()
        if cfg.rate_limit is not None and self._rate_limited(fn, cfg, event, event_id, now):
            return
        if cfg.debounce is not None:
            self._debounce(fn, cfg, event, event_id, now)
            return
        if cfg.batch is not None and (cfg.batch.if_exp is None or _true(cfg.batch.if_exp, event)):
            self._batch(fn, cfg, event, event_id, now)
            return
        self.start_run(fn, [(event_id, event)])

    def _key(self, expr: str | None, event: dict[str, Any]) -> str | None:
        """The key, or None when the expression is false (the option does not apply)."""
        try:
            return evaluate_key(expr, event)
        except NoKey:
            return None

    def _rate_limited(
        self, fn: FunctionDef, cfg: FlowConfig, event: dict[str, Any], event_id: str, now: float
    ) -> bool:
        rl = cfg.rate_limit
        assert rl is not None
        key = self._key(rl.key, event)
        if key is None:
            return False
        period = rl.period * self.clock.scale
        verdict = gcra.check(
            self.store.tat("rate_limit", fn.slug, key),
            now,
            period,
            rl.limit,
            gcra.rate_limit_capacity(rl.limit),
        )
        if verdict.allowed:
            self.store.set_tat("rate_limit", fn.slug, key, verdict.tat)
            return False
        detail = f"rateLimit {rl.limit} per {rl.period:g}s reached for key {key!r}: event dropped, no run"
        self.store.log(now, event_id, fn.slug, "rate_limited", key, None, detail)
        log.info("fn=%s event_id=%s rate limited (key %r): no run", fn.slug, event_id, key)
        return True

    def _debounce(
        self, fn: FunctionDef, cfg: FlowConfig, event: dict[str, Any], event_id: str, now: float
    ) -> None:
        db = cfg.debounce
        assert db is not None
        key = self._key(db.key, event) or ""
        scale = self.clock.scale
        pending = self.store.get_pending("debounce", fn.slug, key)
        first_at = pending.first_at if pending else now
        due = debounce.due(
            first_at, now, db.period * scale, None if db.timeout is None else db.timeout * scale
        )
        # Only the last event's body is kept (the run gets it); earlier ones are ids for the log.
        events = [(i, {}) for i, _ in (pending.events if pending else [])] + [(event_id, event)]
        self.store.save_pending(Pending("debounce", fn.slug, key, events, first_at, due))
        detail = f"debounce {db.period:g}s: the run starts with the last event of key {key!r}"
        self.store.log(now, event_id, fn.slug, "debounced", key, None, detail)
        log.info("fn=%s event_id=%s debounced (key %r, %d events)", fn.slug, event_id, key, len(events))
        self._poke()

    def _batch(
        self, fn: FunctionDef, cfg: FlowConfig, event: dict[str, Any], event_id: str, now: float
    ) -> None:
        bc = cfg.batch
        assert bc is not None
        key = self._key(bc.key, event) or ""
        pending = self.store.get_pending("batch", fn.slug, key)
        before = len(pending.events) if pending else 0
        added = batch.add(
            before, pending.first_at if pending else None, now, bc.max_size, bc.timeout * self.clock.scale
        )
        events = (pending.events if pending else []) + [(event_id, event)]
        held = Pending("batch", fn.slug, key, events, pending.first_at if pending else now, added.due)
        detail = f"batchEvents maxSize {bc.max_size}, timeout {bc.timeout:g}s, key {key!r}"
        self.store.log(now, event_id, fn.slug, "batched", key, None, detail)
        if added.full:
            self.store.drop_pending(held)
            self._flush(held, "full")
        else:
            self.store.save_pending(held)
            self._poke()

    def _flush(self, pending: Pending, why: str) -> None:
        """Start the run a debounce or a batch was holding."""
        fn = self.registry.get(pending.function_slug)
        if fn is None:
            log.warning(
                "fn=%s is not registered any more: its %s is dropped", pending.function_slug, pending.kind
            )
            return
        now = self.clock.now()
        if pending.kind == "debounce":
            run = self.start_run(fn, [pending.events[-1]])
            what = {"events": len(pending.events), "key": pending.key}
        else:
            run = self.start_run(fn, pending.events)
            what = {"events": len(pending.events), "key": pending.key, "reason": why}
        if run is None:
            return
        delay_ms = int((now - pending.first_at) / self.clock.scale * 1000)
        op = "Debounce" if pending.kind == "debounce" else "Batch"
        self.runs.row(
            run,
            pending.kind,
            pending.kind,
            op,
            "Completed",
            pending.first_at,
            now,
            output=what,
            delay_ms=delay_ms,
        )
        self.store.set_log_run([i for i, _ in pending.events], fn.slug, run.run_id)

    # --- creating a run (singleton decides whether it may exist)
    def start_run(self, fn: FunctionDef, events: list[tuple[str, dict[str, Any]]]) -> Run | None:
        event_id, event = events[0] if fn.flow.batch is not None else events[-1]
        cfg, now = fn.flow, self.clock.now()
        singleton_key = None
        if cfg.singleton is not None:
            singleton_key = self._key(cfg.singleton.key, event)
            running = self.store.active_singleton(fn.slug, singleton_key) if singleton_key is not None else []
            if running and cfg.singleton.mode == "skip":
                self._skip(fn, event, event_id, singleton_key or "", running[0], now)
                return None
            for other in running:
                self.runs.cancel(
                    other, f"singleton: replaced by a newer run (event {event_id}, key {singleton_key!r})"
                )
        run = self.runs.create_run(fn, event, event_id, events=[e for _, e in events])
        self.register(run, fn, singleton_key)
        return run

    def _skip(
        self, fn: FunctionDef, event: dict[str, Any], event_id: str, key: str, running: Run, now: float
    ) -> None:
        """singleton mode skip: record a finished `Skipped` run saying which run it yielded to."""
        run = Run(
            run_id=self.runs.ids.new(),
            function_slug=fn.slug,
            function_version=fn.version,
            event_id=event_id,
            event=event,
            events=[event],
            status="Skipped",
            started=now,
            ended=now,
        )
        reason = f"singleton (mode skip, key {key!r}): run {running.run_id} of this function is still running"
        with self.state.tx():
            self.state.insert_run(run)
            self.runs.row(
                run, "singleton", "singleton", "Singleton", "Skipped", now, now, output={"reason": reason}
            )
            self.store.log(now, event_id, fn.slug, "skipped", key, run.run_id, reason)
        log.info("fn=%s event_id=%s skipped: %s", fn.slug, event_id, reason)

    def register(self, run: Run, fn: FunctionDef, singleton_key: str | None = None) -> RunFlow:
        """Compute and store what flow control needs to know about a new run."""
        cfg, scale = fn.flow, self.clock.scale
        if not cfg.per_run:
            return RunFlow(run.run_id, fn.slug)  # nothing to remember: no row, no reads later
        throttle_key = None
        if cfg.throttle is not None:
            throttle_key = self._key(cfg.throttle.key, run.event)
        rf = RunFlow(
            run_id=run.run_id,
            function_slug=fn.slug,
            priority=priority.factor(cfg.priority, run.event),
            slot_keys=self._slot_keys(fn, run.event),
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

    def _slot_keys(self, fn: FunctionDef, event: dict[str, Any]) -> list[Want]:
        out: list[Want] = []
        for n, c in enumerate(fn.flow.concurrency):
            value = self._key(c.key, event) or ""
            if c.scope == "fn":
                key = f"fn:{fn.slug}" if c.key is None else f"fn:{fn.slug}:{n}:{_short(c.key)}:{value}"
            else:
                # env and account scopes share the key's value across functions (one environment here).
                key = f"{c.scope}:{value}"
            out.append((key, c.limit))
        return out

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
            kind_key = ("throttle", fn.slug, rf.throttle_key)
            verdict = gcra.check(
                self.store.tat(*kind_key),
                now,
                th.period * scale,
                th.limit,
                gcra.throttle_capacity(th.limit, th.burst),
            )
            if not verdict.allowed:
                if rf.throttled_seq is None:
                    wait_s = (verdict.retry_at - now) / scale  # intended seconds
                    shape = {
                        "key": rf.throttle_key,
                        "limit": th.limit,
                        "period_s": th.period,
                        "burst": th.burst,
                    }
                    rf.throttled_seq = self.runs.row(
                        run,
                        "throttle",
                        "throttle",
                        "Throttle",
                        "Throttled",
                        now,
                        None,
                        output=shape,
                        scheduled=now + wait_s,
                        delay_ms=int(wait_s * 1000),
                    )
                    self.store.save_run(rf)
                    log.info("run_id=%s throttled (key %r)", run.run_id, rf.throttle_key)
                return min(verdict.retry_at, rf.start_by or float("inf"))
            self.store.set_tat(*kind_key, verdict.tat)
        return None

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
            self.state.update_step(rf.throttled_seq, status="Completed", ended=now)
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
                self._flush(pending, "timeout")
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
            self.runs.row(run, "timeout", f"timeouts.{which}", "Timeout", "Cancelled", now, now, error=err)
            self.runs.cancel(run, why)

    def next_wake(self) -> float | None:
        times = [t for t in (self.store.next_pending(), self.store.next_deadline()) if t is not None]
        return min(times) if times else None

    async def _timer_loop(self) -> None:
        assert self._wake is not None
        while True:
            try:
                self.tick()
            except Exception:
                log.exception("flow control timer failed; it will look again shortly")
            nxt = self.next_wake()
            wait = TIMER_POLL_S if nxt is None else min(TIMER_POLL_S, max(0.0, nxt - self.clock.now()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()


def _true(expr: str, event: dict[str, Any]) -> bool:
    from learninngest.engine.expressions import evaluate

    return evaluate(expr, {"event": event})
