"""Arrivals: what an event does to a function under flow control, before any run exists.

Rate limit (drop the event), debounce and batch (hold it in `flow_pending` until the run
starts; `flush` starts it), singleton (skip the new run, or cancel the running one), else
a run starts at once. Intake calls `on_event` once per triggered function; the timer in
control.py calls `flush` when a debounce or batch is due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from learninngest.engine.cel.expressions import evaluate
from learninngest.engine.clock import Clock
from learninngest.engine.flow import batch, debounce, gcra
from learninngest.engine.flow.keys import NoKey, evaluate_key
from learninngest.engine.flow.store import FlowStore, Pending, RunFlow
from learninngest.engine.internal_events import INVOKED
from learninngest.engine.state.db import State
from learninngest.engine.state.models import EngineOp, Run, RunStatus, StepStatus
from learninngest.engine.sync.functions import idempotency_key
from learninngest.engine.sync.payload import FlowConfig

if TYPE_CHECKING:
    from learninngest.engine.flow.runs import Runs
    from learninngest.engine.sync.functions import FunctionDef
    from learninngest.engine.sync.registry import Registry

log = logging.getLogger("learninngest.engine")

# The error a rate-limited invoke fails its step with (the real runner's, name and message).
INVOKE_RATE_LIMITED = {"name": "Error", "message": "invoked function is rate limited"}

Register = Callable[[Run, "FunctionDef", "str | None"], RunFlow]


def key_of(expr: str | None, event: dict[str, Any]) -> str | None:
    """The key, or None when the expression is false (the option does not apply)."""
    try:
        return evaluate_key(expr, event)
    except NoKey:
        return None


class Arrivals:
    def __init__(
        self,
        state: State,
        clock: Clock,
        registry: Registry,
        runs: Runs,
        store: FlowStore,
        register: Register,
        poke: Callable[[], None],
    ) -> None:
        self.state = state
        self.clock = clock
        self.registry = registry
        self.runs = runs
        self.store = store
        self.register = register
        self._poke = poke

    def on_invoke(self, fn: FunctionDef, event: dict[str, Any], event_id: str) -> None:
        """A run asked for by `step.invoke` (its `inngest/function.invoked` event). As on the real
        server, whose runner schedules that event like any other: the function's idempotency
        (which the real server turns into a rate limit of 1 per 24 h), rate limit, debounce,
        batch and singleton apply; a rate-limited invoke fails the invoking step."""
        if self.repeated(fn, event, event_id) is not None:
            self.runs.invoke_failed(event, dict(INVOKE_RATE_LIMITED))
            return
        self.on_event(fn, event, event_id)

    def repeated(self, fn: FunctionDef, event: dict[str, Any], event_id: str) -> str | None:
        """The function's idempotency key for this event when it was seen in the last 24 h (the
        event starts nothing); None when the function has none or this is its first time.

        A repeat is said where flow control's other drops are: the event's flow log
        (`/v1/events/{id}/flow`, the dashboard's event list) and a log line. The server runs
        `idempotency` as a rate limit of 1 per 24 h: the event shows there with no run."""
        if not fn.idempotency:
            return None
        key = idempotency_key(fn.idempotency, event)
        now = self.clock.now()
        if self.state.claim_idempotency(fn.slug, key, now):
            return None
        detail = f"idempotency key {key!r} already started a run in the last 24 h: event dropped, no run"
        self.store.log(now, event_id, fn.slug, "idempotent", key, None, detail)
        log.info("fn=%s event_id=%s: idempotency key %r seen within 24 h: no run", fn.slug, event_id, key)
        return key

    def on_event(self, fn: FunctionDef, event: dict[str, Any], event_id: str) -> None:
        cfg, now = fn.flow, self.clock.now()
        if cfg.rate_limit is not None and self._rate_limited(fn, cfg, event, event_id, now):
            if event.get("name") == INVOKED:
                # The real runner's InvokeFailHandler: else the invoking step would hang.
                self.runs.invoke_failed(event, dict(INVOKE_RATE_LIMITED))
            return
        if cfg.debounce is not None:
            self._debounce(fn, cfg, event, event_id, now)
            return
        if cfg.batch is not None and (
            cfg.batch.if_exp is None or evaluate(cfg.batch.if_exp, {"event": event})
        ):
            self._batch(fn, cfg, event, event_id, now)
            return
        self.start_run(fn, [(event_id, event)])

    def _rate_limited(
        self, fn: FunctionDef, cfg: FlowConfig, event: dict[str, Any], event_id: str, now: float
    ) -> bool:
        rl = cfg.rate_limit
        assert rl is not None
        key = key_of(rl.key, event)
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
        key = key_of(db.key, event) or ""
        scale = self.clock.scale
        pending = self.store.get_pending("debounce", fn.slug, key)
        first_at = pending.first_at if pending else now
        due = debounce.due(first_at, now, db.period, db.timeout, scale)
        # Only the last event's body is kept (the run gets it); earlier ones are ids for the log.
        events: list[tuple[str, dict[str, Any]]] = [
            (i, {}) for i, _ in (pending.events if pending else [])
        ] + [(event_id, event)]
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
        key = key_of(bc.key, event) or ""
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
            self.flush(held, "full")
        else:
            self.store.save_pending(held)
            self._poke()

    def flush(self, pending: Pending, why: str) -> None:
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
        # Intended time, like every delay in the timeline: the due time, not when the timer woke.
        until = now if why == "full" else min(now, pending.due)
        delay_ms = round((until - pending.first_at) / self.clock.scale * 1000)
        op = EngineOp.DEBOUNCE if pending.kind == "debounce" else EngineOp.BATCH
        self.runs.row(
            run,
            step_id=pending.kind,
            name=pending.kind,
            op=op,
            status=StepStatus.COMPLETED,
            started=pending.first_at,
            ended=now,
            output=what,
            delay_ms=delay_ms,
        )
        self.store.set_log_run([i for i, _ in pending.events], fn.slug, run.run_id)
        log.info(
            "fn=%s %s of %d event(s) (key %r, %s) starts run_id=%s",
            fn.slug,
            pending.kind,
            len(pending.events),
            pending.key,
            "full" if why == "full" else "due",
            run.run_id,
        )

    # --- creating a run (singleton decides whether it may exist)
    def start_run(self, fn: FunctionDef, events: list[tuple[str, dict[str, Any]]]) -> Run | None:
        event_id, event = events[0] if fn.flow.batch is not None else events[-1]
        cfg, now = fn.flow, self.clock.now()
        singleton_key = None
        if cfg.singleton is not None:
            singleton_key = key_of(cfg.singleton.key, event)
            running = self.store.active_singleton(fn.slug, singleton_key) if singleton_key is not None else []
            if running and cfg.singleton.mode == "skip":
                self._skip(fn, event, event_id, singleton_key or "", running[0], now)
                return None
            for other in running:
                why = f"singleton: replaced by a newer run (event {event_id}, key {singleton_key!r})"
                self.runs.row(
                    other,
                    step_id="singleton",
                    name="singleton",
                    op=EngineOp.SINGLETON,
                    status=StepStatus.CANCELLED,
                    started=now,
                    ended=now,
                    output={"reason": why},
                )
                self.runs.cancel(other, why)
        run = self.runs.create_run(fn, event, event_id, events=[e for _, e in events])
        self.register(run, fn, singleton_key)
        return run

    def _skip(
        self, fn: FunctionDef, event: dict[str, Any], event_id: str, key: str, running: Run, now: float
    ) -> None:
        """singleton mode skip: record a finished `Skipped` run saying which run it yielded to."""
        run = Run(
            run_id=self.runs.new_id(),
            function_slug=fn.slug,
            function_version=fn.version,
            event_id=event_id,
            event=event,
            events=[event],
            status=RunStatus.SKIPPED,
            started=now,
            ended=now,
        )
        reason = f"singleton (mode skip, key {key!r}): run {running.run_id} of this function is still running"
        with self.state.tx():
            self.state.insert_run(run)
            self.runs.row(
                run,
                step_id="singleton",
                name="singleton",
                op=EngineOp.SINGLETON,
                status=StepStatus.SKIPPED,
                started=now,
                ended=now,
                output={"reason": reason},
            )
            self.store.log(now, event_id, fn.slug, "skipped", key, run.run_id, reason)
        log.info("fn=%s event_id=%s skipped: %s", fn.slug, event_id, reason)
