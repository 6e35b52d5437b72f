"""How one reply from the app changes a run: memoize a step, plan a parallel group, retry, sleep,
wait for an event, invoke a function, or finish the run.

Everything here is synchronous and writes one transaction per reply, so a run is always
stored in a state the engine can resume from after a restart. Creating, waking, resuming,
cancelling and finishing runs is in run_lifecycle.py.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from learninngest.engine import protocol, retries
from learninngest.engine.ai_steps import AiSteps
from learninngest.engine.clock import parse_duration, parse_iso
from learninngest.engine.expressions import ExpressionError, compile_expression
from learninngest.engine.functions import FunctionDef
from learninngest.engine.run_lifecycle import RunLifecycle
from learninngest.engine.state import Run

if TYPE_CHECKING:
    from learninngest.engine.apps import Registry

log = logging.getLogger("learninngest.engine")


class Outcomes:
    def __init__(self, runs: RunLifecycle, registry: Registry) -> None:
        self.runs = runs
        self.state = runs.state
        self.clock = runs.clock
        self.registry = registry
        self.ai = AiSteps(runs)  # step.ai.infer: the engine makes the call (ai_steps.py)

    # --- a reply from the app
    def apply(
        self,
        run: Run,
        fn: FunctionDef,
        target: str,
        outcome: protocol.Outcome,
        started: float,
        ended: float | None = None,
    ) -> bool:
        """Apply one call's outcome; True when the app should be called again right away.

        `started` / `ended`: when the call was sent and answered (`ended` defaults to now).
        """
        now = self.clock.now() if ended is None else ended
        with self.state.tx():
            if isinstance(outcome, protocol.Completed):
                self.runs.row(
                    run, "step", "function", "RunComplete", "Completed", started, now, output=outcome.output
                )
                self.runs.finish(run, "Completed", outcome.output)
                return False
            if isinstance(outcome, protocol.Unsupported):
                self.runs.row(run, target, "function", "Unsupported", "Failed", started, now)
                self.runs.fail_unsupported(run, outcome.reason)
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
                self.runs.fail_unsupported(
                    run, f"the app planned steps again when asked to run step {target}"
                )
                return False
            for o in planned:
                if o.id not in run.memo and o.id not in run.planned:
                    run.planned.append(o.id)
                self.runs.row(run, o.id, o.user_id, o.op, "Planned", started, now)
            run.attempt = 0
            self.state.save_run(run)
            return True
        if target != "step" and any(o.op == "AIGateway" for o in others):
            self.runs.fail_unsupported(run, "step.ai.infer inside a parallel group is not supported")
            return False
        if len(others) > 1 and any(o.op != "StepRun" for o in others):
            kinds = ", ".join(o.op for o in others)
            self.runs.fail_unsupported(run, f"several opcodes in one reply ({kinds}) are not supported")
            return False
        again = True
        for o in others:
            again = self._op(run, fn, o, started, now) and again
        self.state.save_run(run)
        return again

    def _op(self, run: Run, fn: FunctionDef, o: protocol.Opcode, started: float, now: float) -> bool:
        if o.op == "StepRun":
            run.memoize(o.id, {"data": o.data})
            self.runs.row(run, o.id, o.user_id, o.op, "Completed", started, now, output=o.data)
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
            self.runs.row(run, o.id, o.user_id, o.op, "Failed", started, now, error=err)
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
                self.runs.fail_unsupported(
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
                self.runs.fail_unsupported(run, f"WaitForEvent step {o.user_id}: {exc}")
                return False
            return self._wait(
                run, o, "wait", "Waiting", timeout, started, now, {"event": o.name, "if": opts.get("if")}
            )
        if o.op == "InvokeFunction":
            return self._invoke(run, fn, o, started, now)
        if o.op == "AIGateway":
            return self.ai.start(run, o, now)
        self.runs.fail_unsupported(run, f"opcode {o.op} is not supported by the LearnInngest engine")
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
        seq = self.runs.row(
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
            self.runs.queue.schedule(run.run_id, run.due)
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
            self.runs.row(run, o.id, o.user_id, o.op, "Failed", started, now, error=err)
            return True
        timeout = None
        if opts.get("timeout"):
            try:
                timeout = parse_duration(str(opts["timeout"]))
            except ValueError as exc:
                self.runs.fail_unsupported(run, f"InvokeFunction step {o.user_id}: {exc}")
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
        event_id = self.runs.emit(event, False)
        child = self.runs.create_run(
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
        self.runs.row(run, target, name, "Call", "Failed", started, now, error=outcome.error)
        log.warning(
            "run_id=%s gives up after attempt %d: %s (%s)",
            run.run_id,
            run.attempt,
            outcome.error["message"],
            decision.reason,
        )
        self.runs.finish(run, "Failed", outcome.error)
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
        self.runs.row(
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
        self.runs.queue.schedule(run.run_id, run.due)
        log.warning(
            "step retried run_id=%s step=%s attempt=%d delay=%.3fs (intended): %s",
            run.run_id,
            name,
            run.attempt,
            delay,
            err.get("message"),
        )
