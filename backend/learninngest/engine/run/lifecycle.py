"""A run's life outside replies: created, woken, resumed, cancelled, finished (and its timeline rows).

Finishing emits `inngest/function.finished` (and `.failed` / `.cancelled`) and hands an
invoked run's output to its parent. Everything here is synchronous and writes one
transaction per change, so a run is always stored in a state the engine can resume from.
How a reply from the app changes a run is in outcomes.py. The events go out through the
hooks the composer hands in (run/hooks.py).
"""

from __future__ import annotations

import logging
from typing import Any

from learninngest.engine.clock import Clock
from learninngest.engine.ids import UlidFactory
from learninngest.engine.internal_events import CANCELLED, FAILED, FINISHED, INVOKED
from learninngest.engine.run import defers
from learninngest.engine.run.dispatches import Dispatches
from learninngest.engine.run.hooks import RunHooks
from learninngest.engine.run.queue import RunQueue
from learninngest.engine.state.db import State
from learninngest.engine.state.models import DeferStatus, Pause, PauseKind, Run, RunStatus, StepStatus
from learninngest.engine.sync.functions import FunctionDef, function_uuid
from learninngest.engine.wire import protocol

log = logging.getLogger("learninngest.engine")

INVOKE_TIMEOUT_NAME = "InngestInvokeTimeoutError"
INVOKE_TIMEOUT_MESSAGE = "Timed out waiting for invoked function to complete"


def correlation_of(event: dict[str, Any]) -> str | None:
    """The invoke correlation id (`<parent run id>.<step id>`) an event carries, if any."""
    meta = (event.get("data") or {}).get("_inngest")
    correlation = meta.get("correlation_id") if isinstance(meta, dict) else None
    return correlation if isinstance(correlation, str) and correlation else None


def invoke_result(finished: dict[str, Any]) -> dict[str, Any]:
    """What the invoking step memoizes from an `inngest/function.finished` event, as the real
    server's `Pause.GetResumeData`: `{"error": data.error}`, else `{"data": data.result}`, else
    (a cancelled run's event has neither) the whole event as its `Event.Map()` gives it."""
    data = finished.get("data") or {}
    if "error" in data:
        return {"error": data["error"]}
    if "result" in data:
        return {"data": data["result"]}
    out = {
        "name": finished.get("name"),
        "data": data,
        "user": finished.get("user") or {},
        "id": finished.get("id", ""),
        "ts": finished.get("ts", 0),
    }
    if finished.get("v"):
        out["v"] = finished["v"]
    return out


def failure_error(err: dict[str, Any], error_text: str | None) -> dict[str, Any]:
    """`data.error` of inngest/function.failed / .finished, shaped like the real server's:
    `error` (its own error text), `name`, `message`, and `stack` only when there is one."""
    name, message = str(err.get("name") or "Error"), str(err.get("message") or "")
    out: dict[str, Any] = {
        "error": error_text or f"{name}: {message}",
        "name": name,
        "message": message,
    }
    if isinstance(err.get("stack"), str) and err["stack"]:
        out["stack"] = err["stack"]
    return out


class RunLifecycle:
    def __init__(
        self, state: State, clock: Clock, queue: RunQueue, ids: UlidFactory, hooks: RunHooks | None = None
    ) -> None:
        self.state = state
        self.clock = clock
        self.queue = queue
        self.ids = ids
        # Without the engine's hooks (a part tested alone) the engine's own events are stored,
        # unmatched, so that they can still be seen: never silently dropped.
        self.hooks = hooks or RunHooks(emit=self._store_unmatched, start_invoked=self._create_invoked)
        # Runs whose app once answered several opcodes at once: the real executor then sets
        # `disable_immediate_execution` for the rest of the run (in memory: after a restart
        # the run sends false until its next group).
        self.no_immediate: set[str] = set()
        # Steps each run's call in flight checkpointed (run/checkpoint.py): the app ran them
        # itself, so the executor does not count them as news to call it again for.
        self.checkpointed: dict[str, set[str]] = {}
        # Each run's calls in flight with their generations: a checkpoint from a call the
        # engine gave up on is refused as stale (run/dispatches.py).
        self.dispatches = Dispatches()
        # Request version 2: the step ids of a run's last group (a reply of several opcodes,
        # one of them a planned step or a pause). Until each is memoized the function is not
        # called again, and then `disable_immediate_execution` is cleared on that call: the Dev
        # Server's pending steps (SavePending / SaveStep) and maybeResetForceStepPlan. In
        # memory like no_immediate: after a restart the run is called as each step ends.
        self.group_pending: dict[str, set[str]] = {}

    def _store_unmatched(self, event: dict[str, Any], match: bool) -> str:
        event_id, now = self.ids.new(), self.clock.now()
        event = {"id": event_id, "ts": int(now * 1000), **event}
        self.state.insert_event(event_id, event, now, "engine", False)
        log.info("event stored name=%s event_id=%s (no intake: not matched)", event["name"], event_id)
        return event_id

    def _create_invoked(self, fn: FunctionDef, event: dict[str, Any], event_id: str) -> None:
        self.create_run(fn, event, event_id)

    # --- the queue: when a run is activated next
    def schedule(self, run_id: str, due: float) -> None:
        self.queue.schedule(run_id, due)

    def unschedule(self, run_id: str) -> None:
        self.queue.unschedule(run_id)

    def is_active(self, run_id: str) -> bool:
        return self.queue.is_active(run_id)

    def new_id(self) -> str:
        return self.ids.new()

    # --- creating runs
    def create_run(
        self,
        fn: FunctionDef,
        event: dict[str, Any],
        event_id: str,
        *,
        parent: tuple[str, str] | None = None,
        cron: str | None = None,
        events: list[dict[str, Any]] | None = None,
    ) -> Run:
        now = self.clock.now()
        correlation = correlation_of(event) if event.get("name") == INVOKED else None
        if parent is None and correlation is not None and "." in correlation:
            # An invoked run, however flow control started it (debounce, batch...).
            first, _, rest = correlation.partition(".")
            parent = (first, rest)
        run = Run(
            run_id=self.ids.new(),
            function_slug=fn.slug,
            function_version=fn.version,
            event_id=event_id,
            event=event,
            events=events or [event],  # a batch hands over all its events; `event` is the first
            started=now,
            due=now,
            parent_run_id=parent[0] if parent else None,
            parent_step_id=parent[1] if parent else None,
            cron=cron,
        )
        self.state.insert_run(run)
        self.queue.schedule(run.run_id, now)
        log.info("run scheduled run_id=%s fn=%s event_id=%s", run.run_id, fn.slug, event_id)
        return run

    # --- waking up, events arriving, cancelling
    def wake(self, run: Run, pause: Pause) -> None:
        """A pause's deadline passed: its sleep is over, or its wait / invoke timed out.

        The run's other pauses go on; the caller calls the function again."""
        value: Any = None
        status = StepStatus.COMPLETED if pause["kind"] == PauseKind.SLEEP else StepStatus.TIMED_OUT
        if pause["kind"] == PauseKind.INVOKE:
            # What the real server memoizes; the SDK raises it in the parent as a StepError.
            value = {
                "error": {
                    "error": f"{INVOKE_TIMEOUT_NAME}: {INVOKE_TIMEOUT_MESSAGE}",
                    "name": INVOKE_TIMEOUT_NAME,
                    "message": INVOKE_TIMEOUT_MESSAGE,
                }
            }
        step_id = pause["step_id"]
        with self.state.tx():
            run.end_pause(step_id)
            run.memoize(step_id, value)
            self.state.update_step(pause.get("seq", 0), status=status, ended=self.clock.now())
            self.state.save_run(run)
        log.info("step woke run_id=%s step=%s status=%s", run.run_id, pause.get("name"), status)

    def resume(self, run: Run, step_id: str, value: Any, status: StepStatus = StepStatus.COMPLETED) -> None:
        """A wait matched an event, or an invoked run finished: memoize and call again now.

        Only that pause ends; the run's other pauses go on."""
        pause = run.end_pause(step_id)
        if pause is None:
            return
        with self.state.tx():
            run.memoize(step_id, value)
            self.state.update_step(pause.get("seq", 0), status=status, ended=self.clock.now(), output=value)
            # Due now, earlier than any pause's deadline: the executor knows the app has news.
            run.due = self.clock.now()
            self.state.save_run(run)
        self.queue.schedule(run.run_id, run.due)
        log.info("step resumed run_id=%s step=%s", run.run_id, pause.get("name"))

    def cancel(self, run: Run, reason: str) -> None:
        self.queue.unschedule(run.run_id)
        self.finish(run, RunStatus.CANCELLED, None, reason=reason)

    def cancel_by_id(self, run_id: str, reason: str) -> bool:
        """Cancel a run by its id (REST, the dashboard); False when it is unknown or over."""
        run = self.state.get_run(run_id)
        if run is None or run.finished:
            return False
        self.cancel(run, reason)
        return True

    def fail_unsupported(self, run: Run, reason: str) -> None:
        log.error("run_id=%s fails: %s", run.run_id, reason)
        self.finish(run, RunStatus.FAILED, protocol.error_object("Unsupported", reason))

    # --- the end of a run
    def finish(
        self, run: Run, status: RunStatus, output: Any, reason: str = "", error_text: str | None = None
    ) -> None:
        """End a run. `error_text`: the failure event's `data.error.error` (see failure_error)."""
        status = RunStatus(status)
        now = self.clock.now()
        self.no_immediate.discard(run.run_id)
        self.checkpointed.pop(run.run_id, None)
        self.group_pending.pop(run.run_id, None)
        with self.state.tx():
            # Every pause ends with the run (a sleep, a wait, an invoke still open).
            for pause in run.pauses:
                self.state.update_step(pause.get("seq", 0), status=StepStatus.CANCELLED, ended=now)
            run.status, run.ended, run.output = status, now, output
            run.pauses, run.due, run.planned, run.race, run.retries = [], None, [], [], {}
            self.state.save_run(run)
            self.hooks.finished(run.run_id)
            if status == RunStatus.COMPLETED:
                log.info(
                    "run completed run_id=%s fn=%s event_id=%s", run.run_id, run.function_slug, run.event_id
                )
                self._finish_events(run, status, {"result": output})
            elif status == RunStatus.FAILED:
                err = output if isinstance(output, dict) else protocol.error_object("Error", str(output))
                log.error(
                    "run failed run_id=%s fn=%s event_id=%s: %s",
                    run.run_id,
                    run.function_slug,
                    run.event_id,
                    err.get("message"),
                )
                self._finish_events(run, status, {"error": failure_error(err, error_text)})
            else:
                log.info(
                    "run cancelled run_id=%s fn=%s event_id=%s: %s",
                    run.run_id,
                    run.function_slug,
                    run.event_id,
                    reason,
                )
                # As the real server's finalize of a cancel: neither `result` nor `error`, so a
                # run that invoked this one memoizes the whole finished event (invoke_result).
                self._finish_events(run, status, {})
            self._start_deferred(run, now)

    def _finish_events(self, run: Run, status: RunStatus, outcome: dict[str, Any]) -> None:
        """`inngest/function.finished` (+ `.failed` / `.cancelled`), as the real server's finalize.

        One set for the run's first event and one for each other event of a batch that carries
        an invoke correlation id (`data._inngest.correlation_id`), which the events repeat at
        `data.correlation_id`; none for runs started by a finish event (no recursion). The
        failed and cancelled events take the run id as their id, so they start handlers once.
        A finished event with a correlation id resumes the step that invoked the run (its
        `HandleInvokeFinish`), so each invoker of a batched or debounced run gets it.
        """
        for n, event in enumerate(run.events or [run.event]):
            if event.get("name") in (FAILED, FINISHED):
                continue
            correlation = correlation_of(event)
            if correlation is None and n > 0:
                continue
            data: dict[str, Any] = {
                "function_id": run.function_slug,
                "run_id": run.run_id,
                "event": event,
                "events": run.events,
                **outcome,
            }
            if correlation is not None:
                data["correlation_id"] = correlation
            data["_inngest"] = {"status": status}  # Completed, Failed or Cancelled
            finished = {"name": FINISHED, "data": data}
            finished_id = self.hooks.emit(finished, True)
            if status in (RunStatus.FAILED, RunStatus.CANCELLED):
                name = FAILED if status == RunStatus.FAILED else CANCELLED
                self.hooks.emit({"name": name, "id": run.run_id, "data": data}, True)
            if correlation is not None:
                self._resume_invoker(self._stored(finished_id, finished))

    def _start_deferred(self, run: Run, now: float) -> None:
        """What the run's `defer()` calls asked for, whatever its end (the server's finalize)."""
        if not any(d["status"] == DeferStatus.AFTER_RUN for d in run.defers.values()):
            return
        fn_uuid, app_uuid = function_uuid(run.function_slug), self.state.app_uuid_of(run.function_slug)
        for event in defers.schedule_events(run, fn_uuid, app_uuid, now):
            slug = event["data"]["_inngest"]["fn_slug"]
            try:
                event_id = self.hooks.emit(event, True)
            except Exception:  # best effort, as the server's finalize: the run's end stands
                log.exception("run_id=%s deferred run of %s not scheduled", run.run_id, slug)
                continue
            log.info("deferred run scheduled run_id=%s fn=%s event_id=%s", run.run_id, slug, event_id)

    def invoke_failed(self, invoked: dict[str, Any], error: dict[str, Any]) -> None:
        """An invoked run was not started (rate limited): as the real server's
        `InvokeFailHandler`, send a finished event with the error and no run, which fails the
        invoking step."""
        data: dict[str, Any] = {"function_id": "", "run_id": ""}
        correlation = correlation_of(invoked)
        if correlation is not None:
            data["correlation_id"] = correlation
        data["error"] = error
        finished = {"name": FINISHED, "data": data}
        finished_id = self.hooks.emit(finished, True)
        if correlation is not None:
            self._resume_invoker(self._stored(finished_id, finished))

    def _stored(self, event_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """The event as stored (with its id and ts), or as built when nothing stores events."""
        return self.state.get_event_body(event_id) if event_id else event

    def _resume_invoker(self, finished: dict[str, Any]) -> None:
        """Resume the invoke step named by a finished event's correlation id, if it still waits."""
        correlation = (finished.get("data") or {}).get("correlation_id")
        if not isinstance(correlation, str) or "." not in correlation:
            return
        run_id, _, step_id = correlation.partition(".")
        parent = self.state.get_run(run_id)
        if parent is None or parent.finished:
            return  # the real server finds no pause either (its state is gone)
        pause = parent.pause(step_id)
        if pause is None or pause["kind"] != PauseKind.INVOKE:
            return
        value = invoke_result(finished)
        self.resume(parent, step_id, value, StepStatus.FAILED if "error" in value else StepStatus.COMPLETED)

    def row(
        self,
        run: Run,
        *,
        step_id: str,
        name: str,
        op: str,
        status: StepStatus,
        started: float,
        ended: float | None,
        output: Any = None,
        error: Any = None,
        scheduled: float | None = None,
        delay_ms: int | None = None,
        attempt: int | None = None,
    ) -> int:
        """Add one row to the run's timeline; returns its seq (to update it later).

        `op`: the step's opcode, or an EngineOp for the rows the engine writes itself.
        `attempt`: the step's own (an inference); by default the run's current one."""
        return self.state.add_step(
            run.run_id,
            step_id=step_id,
            name=name,
            op=op,
            attempt=run.attempt if attempt is None else attempt,
            status=str(status),
            started=started,
            ended=ended,
            output=output,
            error=error,
            scheduled_for_intended=scheduled,
            intended_delay_ms=delay_ms,
        )

    def step_row(
        self,
        run: Run,
        o: protocol.Opcode,
        status: StepStatus,
        started: float,
        ended: float | None,
        **details: Any,
    ) -> int:
        """A timeline row for the step an opcode reports (its id, name and op)."""
        return self.row(
            run, step_id=o.id, name=o.user_id, op=o.op, status=status, started=started, ended=ended, **details
        )
