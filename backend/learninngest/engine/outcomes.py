"""How a reply, a wake-up, a matching event or a cancel changes a run (and the timeline).

Everything here is synchronous and writes one transaction per change, so a run is always
stored in a state the engine can resume from after a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from learninngest.engine import protocol, retries
from learninngest.engine.clock import Clock, parse_duration, parse_iso
from learninngest.engine.expressions import ExpressionError, compile_expression
from learninngest.engine.functions import FunctionDef
from learninngest.engine.ids import UlidFactory
from learninngest.engine.queue import RunQueue
from learninngest.engine.state import Run, State

if TYPE_CHECKING:
    from learninngest.engine.apps import Registry

log = logging.getLogger("learninngest.engine")

# emit(event body, match triggers?) -> internal event id; set by app.py to Intake.ingest_internal.
Emit = Callable[[dict[str, Any], bool], str]


class Outcomes:
    def __init__(
        self, state: State, clock: Clock, registry: Registry, queue: RunQueue, ids: UlidFactory
    ) -> None:
        self.state = state
        self.clock = clock
        self.registry = registry
        self.queue = queue
        self.ids = ids
        self.emit: Emit = lambda event, match: ""

    # --- creating runs
    def create_run(
        self,
        fn: FunctionDef,
        event: dict[str, Any],
        event_id: str,
        *,
        parent: tuple[str, str] | None = None,
        cron: str | None = None,
    ) -> Run:
        now = self.clock.now()
        run = Run(
            run_id=self.ids.new(),
            function_slug=fn.slug,
            function_version=fn.version,
            event_id=event_id,
            event=event,
            events=[event],
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

    # --- a reply from the app
    def apply(
        self, run: Run, fn: FunctionDef, target: str, outcome: protocol.Outcome, started: float
    ) -> bool:
        """Apply one call's outcome; True when the app should be called again right away."""
        now = self.clock.now()
        with self.state.tx():
            if isinstance(outcome, protocol.Completed):
                self._row(
                    run, "step", "function", "RunComplete", "Completed", started, now, output=outcome.output
                )
                self.finish(run, "Completed", outcome.output)
                return False
            if isinstance(outcome, protocol.Unsupported):
                self._row(run, target, "function", "Unsupported", "Failed", started, now)
                self.fail_unsupported(run, outcome.reason)
                return False
            if isinstance(outcome, protocol.CallFailed):
                return self._call_failed(run, fn, target, outcome, started, now)
            return self._ops(run, fn, target, outcome.ops, started, now)

    def _ops(
        self, run: Run, fn: FunctionDef, target: str, ops: list[protocol.Opcode], started: float, now: float
    ) -> bool:
        planned = [o for o in ops if o.op == "StepPlanned"]
        others = [o for o in ops if o.op != "StepPlanned"]
        if planned and not others:
            if target != "step":
                self.fail_unsupported(run, f"the app planned steps again when asked to run step {target}")
                return False
            for o in planned:
                if o.id not in run.memo and o.id not in run.planned:
                    run.planned.append(o.id)
                self._row(run, o.id, o.user_id, o.op, "Planned", started, now)
            run.attempt = 0
            self.state.save_run(run)
            return True
        if len(others) > 1 and any(o.op != "StepRun" for o in others):
            kinds = ", ".join(o.op for o in others)
            self.fail_unsupported(run, f"several opcodes in one reply ({kinds}) are not supported")
            return False
        again = True
        for o in others:
            again = self._op(run, fn, o, started, now) and again
        self.state.save_run(run)
        return again

    def _op(self, run: Run, fn: FunctionDef, o: protocol.Opcode, started: float, now: float) -> bool:
        if o.op == "StepRun":
            run.memoize(o.id, {"data": o.data})
            self._row(run, o.id, o.user_id, o.op, "Completed", started, now, output=o.data)
            run.attempt = 0
            log.info("step done run_id=%s step=%s", run.run_id, o.user_id)
            return True
        if o.op in ("StepError", "StepFailed"):
            err = protocol.normalize_error(o.error, "step failed")
            decision = retries.decide(run.attempt, fn.max_attempts, now=now)
            if o.op == "StepError" and decision.retry:
                self._retry(run, o.id, o.user_id, o.op, err, decision.delay_s, started, now)
                return False
            run.memoize(o.id, {"error": err})
            self._row(run, o.id, o.user_id, o.op, "Failed", started, now, error=err)
            log.warning(
                "step failed run_id=%s step=%s attempt=%d: %s",
                run.run_id,
                o.user_id,
                run.attempt,
                err["message"],
            )
            run.attempt = 0
            return True
        if o.op == "Sleep":
            try:
                wake = parse_iso(o.name)
            except ValueError:
                self.fail_unsupported(
                    run, f"Sleep step {o.user_id} has no wake-up time in `name`: {o.name!r}"
                )
                return False
            return self._wait(run, o, "sleep", "Sleeping", wake - now, started, now, {})
        if o.op == "WaitForEvent":
            opts = o.opts or {}
            try:
                timeout = parse_duration(str(opts.get("timeout") or ""))
                if opts.get("if"):
                    compile_expression(str(opts["if"]))
            except (ValueError, ExpressionError) as exc:
                self.fail_unsupported(run, f"WaitForEvent step {o.user_id}: {exc}")
                return False
            return self._wait(
                run, o, "wait", "Waiting", timeout, started, now, {"event": o.name, "if": opts.get("if")}
            )
        if o.op == "InvokeFunction":
            return self._invoke(run, fn, o, started, now)
        self.fail_unsupported(run, f"opcode {o.op} is not supported by the LearnInngest engine")
        return False

    def _wait(
        self,
        run: Run,
        o: protocol.Opcode,
        kind: str,
        status: str,
        delay: float | None,
        started: float,
        now: float,
        extra: dict[str, Any],
    ) -> bool:
        intended = None if delay is None else max(0.0, delay)
        seq = self._row(
            run,
            o.id,
            o.user_id,
            o.op,
            status,
            started,
            None,
            scheduled=None if intended is None else now + intended,
            delay_ms=None if intended is None else round(intended * 1000),
        )
        run.waiting = {"kind": kind, "step_id": o.id, "name": o.user_id, "seq": seq, **extra}
        run.due = None if intended is None else self.clock.due_after(intended)
        run.attempt = 0
        if run.due is not None:
            self.queue.schedule(run.run_id, run.due)
        log.info(
            "step %s run_id=%s step=%s intended_delay=%s",
            status.lower(),
            run.run_id,
            o.user_id,
            "none" if intended is None else f"{intended:.3f}s",
        )
        return False

    def _invoke(self, run: Run, fn: FunctionDef, o: protocol.Opcode, started: float, now: float) -> bool:
        opts = o.opts or {}
        target = self.registry.get(str(opts.get("function_id") or ""))
        if target is None:
            err = protocol.error_object(
                "FunctionNotFound", f"invoked function {opts.get('function_id')!r} is not registered"
            )
            run.memoize(o.id, {"error": err})
            self._row(run, o.id, o.user_id, o.op, "Failed", started, now, error=err)
            return True
        timeout = None
        if opts.get("timeout"):
            try:
                timeout = parse_duration(str(opts["timeout"]))
            except ValueError as exc:
                self.fail_unsupported(run, f"InvokeFunction step {o.user_id}: {exc}")
                return False
        payload = opts.get("payload") if isinstance(opts.get("payload"), dict) else {}
        data = dict(payload.get("data") or {})
        data["_inngest"] = {
            "source_app_id": fn.app_id,
            "source_fn_id": fn.slug,
            "source_fn_v": fn.version,
            "invoke_correlation_id": f"{run.run_id}.{o.id}",
        }
        event = {"name": "inngest/function.invoked", "data": data, "ts": int(now * 1000)}
        if payload.get("v") is not None:
            event["v"] = payload["v"]
        event_id = self.emit(event, False)
        child = self.create_run(
            target, self.state.get_event_body(event_id), event_id, parent=(run.run_id, o.id)
        )
        self._wait(run, o, "invoke", "Waiting", timeout, started, now, {"child": child.run_id})
        return False

    def _call_failed(
        self, run: Run, fn: FunctionDef, target: str, outcome: protocol.CallFailed, started: float, now: float
    ) -> bool:
        decision = retries.decide(
            run.attempt,
            fn.max_attempts,
            retriable=outcome.retriable,
            retry_after=outcome.retry_after,
            now=now,
        )
        name = "function" if target == "step" else target
        if decision.retry:
            self._retry(run, target, name, "Call", outcome.error, decision.delay_s, started, now)
            self.state.save_run(run)
            return False
        self._row(run, target, name, "Call", "Failed", started, now, error=outcome.error)
        log.warning(
            "run_id=%s gives up after attempt %d: %s (%s)",
            run.run_id,
            run.attempt,
            outcome.error["message"],
            decision.reason,
        )
        self.finish(run, "Failed", outcome.error)
        return False

    def _retry(
        self,
        run: Run,
        step_id: str,
        name: str,
        op: str,
        err: dict[str, Any],
        delay: float,
        started: float,
        now: float,
    ) -> None:
        self._row(
            run,
            step_id,
            name,
            op,
            "Retrying",
            started,
            now,
            error=err,
            scheduled=now + delay,
            delay_ms=round(delay * 1000),
        )
        run.attempt += 1
        run.due = self.clock.due_after(delay)
        self.queue.schedule(run.run_id, run.due)
        log.warning(
            "step retried run_id=%s step=%s attempt=%d delay=%.3fs (intended): %s",
            run.run_id,
            name,
            run.attempt,
            delay,
            err.get("message"),
        )

    # --- waking up, events arriving, cancelling
    def wake(self, run: Run) -> None:
        """The run's deadline passed: the sleep is over, or the wait / invoke timed out."""
        waiting = run.waiting or {}
        value: Any = None
        status = "Completed" if waiting.get("kind") == "sleep" else "TimedOut"
        if waiting.get("kind") == "invoke":
            value = {
                "error": protocol.error_object("InvokeTimeout", "the invoked function did not finish in time")
            }
        with self.state.tx():
            run.memoize(waiting.get("step_id", ""), value)
            run.waiting = None
            run.due = None
            self.state.update_step(waiting.get("seq", 0), status=status, ended=self.clock.now())
            self.state.save_run(run)

    def resume(self, run: Run, value: Any, status: str = "Completed") -> None:
        """A wait matched an event, or an invoked run finished: memoize and call again now."""
        waiting = run.waiting or {}
        with self.state.tx():
            run.memoize(waiting.get("step_id", ""), value)
            self.state.update_step(waiting.get("seq", 0), status=status, ended=self.clock.now(), output=value)
            run.waiting = None
            run.due = self.clock.now()
            self.state.save_run(run)
        self.queue.schedule(run.run_id, run.due)
        log.info("step resumed run_id=%s step=%s", run.run_id, waiting.get("name"))

    def cancel(self, run: Run, reason: str) -> None:
        self.queue.unschedule(run.run_id)
        self.finish(run, "Cancelled", None, reason=reason)

    def fail_unsupported(self, run: Run, reason: str) -> None:
        log.error("run_id=%s fails: %s", run.run_id, reason)
        self.finish(run, "Failed", protocol.error_object("Unsupported", reason))

    # --- the end of a run
    def finish(self, run: Run, status: str, output: Any, reason: str = "") -> None:
        now = self.clock.now()
        fn_event = {
            "function_id": run.function_slug,
            "run_id": run.run_id,
            "event": run.event,
            "events": run.events,
        }
        with self.state.tx():
            run.status, run.ended, run.output = status, now, output
            run.waiting, run.due, run.planned = None, None, []
            self.state.save_run(run)
            if status == "Completed":
                log.info(
                    "run completed run_id=%s fn=%s event_id=%s", run.run_id, run.function_slug, run.event_id
                )
                self._hand_to_parent(run, {"data": output})
                self.emit({"name": "inngest/function.finished", "data": fn_event | {"result": output}}, True)
            elif status == "Failed":
                err = output if isinstance(output, dict) else protocol.error_object("Error", str(output))
                log.error(
                    "run failed run_id=%s fn=%s event_id=%s: %s",
                    run.run_id,
                    run.function_slug,
                    run.event_id,
                    err.get("message"),
                )
                failure = {"error": f"{err.get('name')}: {err.get('message')}"} | err
                self._hand_to_parent(run, {"error": err})
                self.emit(
                    {
                        "name": "inngest/function.failed",
                        "id": run.run_id,
                        "data": fn_event | {"error": failure},
                    },
                    True,
                )
                self.emit({"name": "inngest/function.finished", "data": fn_event | {"error": failure}}, True)
            else:
                log.info(
                    "run cancelled run_id=%s fn=%s event_id=%s: %s",
                    run.run_id,
                    run.function_slug,
                    run.event_id,
                    reason,
                )
                err = protocol.error_object("FunctionCancelled", reason or "cancelled")
                self._hand_to_parent(run, {"error": err})
                self.emit({"name": "inngest/function.cancelled", "data": fn_event | {"error": err}}, True)
                self.emit({"name": "inngest/function.finished", "data": fn_event | {"error": err}}, True)

    def _hand_to_parent(self, run: Run, value: dict[str, Any]) -> None:
        if not run.parent_run_id:
            return
        parent = self.state.get_run(run.parent_run_id)
        waiting = parent.waiting if parent else None
        if parent is None or parent.finished or not waiting or waiting.get("child") != run.run_id:
            return
        self.resume(parent, value, "Completed" if "data" in value else "Failed")

    def _row(
        self,
        run: Run,
        step_id: str,
        name: str,
        op: str,
        status: str,
        started: float,
        ended: float | None,
        *,
        output: Any = None,
        error: Any = None,
        scheduled: float | None = None,
        delay_ms: int | None = None,
    ) -> int:
        return self.state.add_step(
            run.run_id,
            step_id=step_id,
            name=name,
            op=op,
            attempt=run.attempt,
            status=status,
            started=started,
            ended=ended,
            output=output,
            error=error,
            scheduled_for_intended=scheduled,
            intended_delay_ms=delay_ms,
        )
