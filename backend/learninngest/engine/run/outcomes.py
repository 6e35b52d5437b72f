"""How one reply from the app changes a run: memoize a step, plan a parallel group, retry, sleep,
wait for an event, invoke a function, or finish the run.

Everything here is synchronous and writes one transaction per reply, so a run is always
stored in a state the engine can resume from after a restart. Creating, waking, resuming,
cancelling and finishing runs is in lifecycle.py.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from learninngest.engine.cel.expressions import ExpressionError, compile_expression
from learninngest.engine.clock import Clock, parse_duration
from learninngest.engine.internal_events import INVOKED
from learninngest.engine.run import defers
from learninngest.engine.run.ai_steps import AiSteps
from learninngest.engine.run.hooks import RunHooks
from learninngest.engine.run.lifecycle import RunLifecycle
from learninngest.engine.state.db import State
from learninngest.engine.state.models import (
    FUNCTION_RETRY,
    EngineOp,
    Pause,
    PauseKind,
    Run,
    RunStatus,
    StepStatus,
)
from learninngest.engine.sync.functions import FunctionDef
from learninngest.engine.wire import protocol, retries

if TYPE_CHECKING:
    from learninngest.engine.sync.registry import Registry

log = logging.getLogger("learninngest.engine")

# Opcodes that start a pause; the app reports one again on every call until it ends.
PAUSE_OPS = protocol.WAIT_OPS | {"AIGateway"}
# Opcodes the server resumes later (its hasPlanOp): a group with one of them has pending steps.
PLAN_OPS = PAUSE_OPS | {"StepPlanned"}
LAZY_ONLY = "the app replied with defer opcodes only, and none changed anything: nothing moves the run on"


def failure_text(outcome: protocol.CallFailed) -> str:
    """`data.error.error` of inngest/function.failed as the real server writes it: its own error
    for the failed call (a bad status, NonRetriableError), or the transport error."""
    if not outcome.retriable:
        return "NonRetriableError"
    if outcome.status:
        return f"invalid status code: {outcome.status}"
    return str(outcome.error.get("message") or outcome.error.get("name") or "error")


def function_error(o: protocol.Opcode, reply: protocol.Ops) -> protocol.CallFailed:
    """The function threw, and the SDK sent its error as an opcode to ship defers with it:
    the plain reply it would otherwise have sent, so the same attempts and the same failure
    (the real server takes it for a step named "complete", spending extra attempts).
    StepError: its 500; StepFailed (a NonRetriableError, or the last attempt): its 400 with
    `x-inngest-no-retry`."""
    retriable = o.op == "StepError" and not reply.no_retry
    return protocol.CallFailed(
        error=protocol.error_body(o.error, "function failed"),
        retriable=retriable,
        retry_after=reply.retry_after,
        status=500 if retriable else 400,
    )


class Outcomes:
    def __init__(
        self,
        state: State,
        clock: Clock,
        runs: RunLifecycle,
        registry: Registry,
        ai: AiSteps,
        hooks: RunHooks,
    ) -> None:
        self.state = state
        self.clock = clock
        self.runs = runs
        self.registry = registry
        self.ai = ai  # step.ai.infer: the engine makes the call (ai_steps.py)
        # `hooks.start_invoked` is flow control's `on_invoke`, which applies the invoked
        # function's rate limit, idempotency, debounce, batch and singleton as the real
        # server's schedule does for an `inngest/function.invoked` event.
        self.hooks = hooks

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
        A call of one step of a group (`target` is its id) counts that step's own attempts.
        """
        now = self.clock.now() if ended is None else ended
        if target != "step":
            run.attempt = run.step_attempt(target)
        with self.state.tx():
            if isinstance(outcome, protocol.Completed):
                self._completed(run, outcome.output, started, now)
                return False
            if isinstance(outcome, protocol.Unsupported):
                self.runs.row(
                    run,
                    step_id=target,
                    name="function",
                    op=EngineOp.UNSUPPORTED,
                    status=StepStatus.FAILED,
                    started=started,
                    ended=now,
                )
                self.runs.fail_unsupported(run, outcome.reason)
                return False
            if isinstance(outcome, protocol.CallFailed):
                return self._call_failed(run, fn, target, outcome, started, now)
            return self._ops(run, fn, target, outcome, started, now)

    def _ops(
        self, run: Run, fn: FunctionDef, target: str, reply: protocol.Ops, started: float, now: float
    ) -> bool:
        """Apply a 206: memoize steps, plan steps, start pauses; several of them may come at once.

        Like the real server, every opcode of a reply is applied on its own: a parallel group
        may mix planned steps with any number of sleeps, waits and invokes; each pause is kept
        separately (keyed by its step id) and resumes the run when it ends, while the planned
        steps are called now. A pause in progress is reported again by every call until it
        ends (and one that ended while the call was in flight, by that call): the engine
        recognises it by its step id and ignores the repeat, as the real server does. So with a
        planned step that waits for its retry (or is being called), and with an inference
        whose retry is not due yet: the real server's queue already holds their items.
        """
        if run.request_version == protocol.VERSION_UNSET:
            run.request_version = reply.request_version
        if any(o.op in defers.LAZY_OPS for o in reply.ops):
            # defer() rides along with whatever the reply reports: kept first (before a
            # RunComplete ends the run), and no part of a group or of the run's steps.
            changed = defers.apply(run, reply.ops, self.runs.step_row, started, now)
            host = [o for o in reply.ops if o.op not in defers.LAZY_OPS]
            if not host:
                # Nothing else moves the run on. The server's fallback calls the app again once
                # per opcode (a repeat is deduplicated; after a failed abort it calls nothing and
                # the run stalls): here, again when a defer was kept or aborted, else the run fails.
                self.state.save_run(run)
                if not changed:
                    self.runs.fail_unsupported(run, LAZY_ONLY)
                return changed
            if len(host) == 1 and defers.is_function_error(host[0]):
                self.state.save_run(run)  # the defers it shipped
                return self._call_failed(run, fn, target, function_error(host[0], reply), started, now)
            reply = dataclasses.replace(reply, ops=host)
        if len(reply.ops) > 1:
            self.runs.no_immediate.add(run.run_id)  # the real executor: len(Generator) > 1
            race = any((o.opts or {}).get("parallelMode") == "race" for o in reply.ops)
            if run.request_version >= 2 and not race and any(o.op in PLAN_OPS for o in reply.ops):
                # The Dev Server's SavePending: the group's steps, replacing an earlier group's.
                # (Race mode: it calls the function after each step whatever is pending.)
                self.runs.group_pending[run.run_id] = {o.id for o in reply.ops}
        real_now = self.clock.now()
        known = set(run.planned)
        ops = [
            o
            for o in reply.ops
            if not (o.op in PAUSE_OPS and (run.pause(o.id) is not None or o.id in run.memo))
            and not (o.op == "AIGateway" and run.retry_waits(o.id, real_now))
        ]
        planned = [o for o in ops if o.op == "StepPlanned"]
        # RunComplete last: the steps checkpointed with it are memoized before the run ends.
        others = sorted((o for o in ops if o.op != "StepPlanned"), key=lambda o: o.op == "RunComplete")
        if planned and target != "step":
            self.runs.fail_unsupported(run, f"the app planned steps again when asked to run step {target}")
            return False
        again = True
        for o in others:
            again = self._op(run, fn, target, o, reply, started, now) and again
            if run.finished:
                return False
        fresh = [o for o in planned if o.id not in run.memo and o.id not in known]
        for o in planned:
            if (o.opts or {}).get("parallelMode") == "race" and o.id not in run.race and o.id not in run.memo:
                run.race.append(o.id)
        for o in fresh:
            run.planned.append(o.id)
            self.runs.step_row(run, o, StepStatus.PLANNED, started, now)
        if planned:
            run.attempt = 0
        if target == "step":
            # An inference due for its retry that the function did not ask for again: it no
            # longer wants it (its code changed), so the run must not be woken for it again.
            asked = {o.id for o in reply.ops}
            for step_id in run.inference_retries_due(real_now):
                if step_id not in asked:
                    run.retries.pop(step_id, None)
        if run.ready_planned(real_now) or self.ai.pending(run):
            # The group's steps are called (its inferences made) now, whatever else the reply
            # started (and again after a restart even if no pause has a deadline).
            run.due = real_now
            again = True
        elif not others and not fresh and (run.pauses or run.retries):
            again = self._keep_waiting(run)
        self.state.save_run(run)
        return again

    def _completed(self, run: Run, output: Any, started: float, now: float) -> None:
        """The function returned `output` (a 200, or a RunComplete opcode): its row, then the run's end."""
        self.runs.row(
            run,
            step_id="step",
            name="function",
            op=EngineOp.RUN_COMPLETE,
            status=StepStatus.COMPLETED,
            started=started,
            ended=now,
            output=output,
        )
        self.runs.finish(run, RunStatus.COMPLETED, output)

    def _keep_waiting(self, run: Run) -> bool:
        """Nothing new in the reply: the run goes back to its pauses and retries (the earliest)."""
        run.due = run.next_due()
        if run.due is not None:
            self.runs.schedule(run.run_id, run.due)
        else:
            self.runs.unschedule(run.run_id)
        return False

    def _op(
        self,
        run: Run,
        fn: FunctionDef,
        target: str,
        o: protocol.Opcode,
        reply: protocol.Ops,
        started: float,
        now: float,
    ) -> bool:
        if o.op == "StepRun":
            run.memoize(o.id, {"data": o.data})
            self.runs.step_row(run, o, StepStatus.COMPLETED, started, now, output=o.data)
            run.attempt = 0
            log.info("step done run_id=%s step=%s", run.run_id, o.user_id)
            return True
        if o.op in ("StepError", "StepFailed"):
            err = protocol.normalize_error(o.error, "step failed")
            # x-inngest-no-retry / retry-after on the 206 apply to its StepError.
            decision = retries.decide(
                run.attempt,
                fn.max_attempts,
                retriable=not reply.no_retry,
                retry_after=reply.retry_after,
                now=now,
            )
            if o.op == "StepError" and decision.retry:
                self._retry(run, target, o.id, o.user_id, o.op, err, decision.delay_s, started, now)
                return False
            run.memoize(o.id, {"error": err})
            self.runs.step_row(run, o, StepStatus.FAILED, started, now, error=err)
            log.warning(
                "step failed run_id=%s step=%s attempt=%d: %s (%s)",
                run.run_id,
                o.user_id,
                run.attempt,
                err["message"],
                decision.reason or "StepFailed",
            )
            run.attempt = 0
            return True
        if o.op == "Sleep":
            try:
                wake = protocol.sleep_until(o, now)
            except ValueError:
                self.runs.fail_unsupported(
                    run,
                    f"Sleep step {o.user_id} has neither a wake-up time nor a duration: "
                    f"name={o.name!r}, opts={o.opts!r}",
                )
                return False
            return self._wait(run, o, PauseKind.SLEEP, StepStatus.SLEEPING, wake - now, started, now)
        if o.op == "WaitForEvent":
            opts = o.opts or {}
            try:
                timeout = parse_duration(str(opts.get("timeout") or ""))
                if opts.get("if"):
                    compile_expression(str(opts["if"]))
            except (ValueError, ExpressionError) as exc:
                self.runs.fail_unsupported(run, f"WaitForEvent step {o.user_id}: {exc}")
                return False
            # The TypeScript SDK may name the event in opts.event (the real server reads it first).
            name = str(opts.get("event") or o.name)
            return self._wait(
                run,
                o,
                PauseKind.WAIT,
                StepStatus.WAITING,
                timeout,
                started,
                now,
                event=name,
                if_exp=opts.get("if"),
            )
        if o.op == "InvokeFunction":
            return self._invoke(run, fn, o, started, now)
        if o.op == "AIGateway":
            return self.ai.start(run, o, now)
        if o.op == "RunComplete":
            # The TypeScript SDK 4.x checkpointed its steps (run/checkpoint.py) and reports
            # the function's return value as an opcode: the run is over, as with a 200.
            self._completed(run, o.data, started, now)
            return False
        if o.op == "DiscoveryRequest":
            return True  # the SDK stopped after checkpointing: call it again
        self.runs.fail_unsupported(run, f"opcode {o.op} is not supported by the LearnInngest engine")
        return False

    def _wait(
        self,
        run: Run,
        o: protocol.Opcode,
        kind: PauseKind,
        status: StepStatus,
        delay: float | None,
        started: float,
        now: float,
        *,
        event: str | None = None,
        if_exp: str | None = None,
        invoke_event: str | None = None,
    ) -> bool:
        """Start a pause (its timeline row and its deadline); the run goes on waiting."""
        intended = None if delay is None else max(0.0, delay)
        seq = self.runs.step_row(
            run,
            o,
            status,
            started,
            None,
            scheduled=None if intended is None else now + intended,
            delay_ms=None if intended is None else round(intended * 1000),
        )
        pause: Pause = {
            "kind": kind,
            "step_id": o.id,
            "name": o.user_id,
            "seq": seq,
            # Real time; run.due may be earlier (planned steps, news).
            "deadline": None if intended is None else self.clock.due_after(intended),
        }
        if kind == PauseKind.WAIT:
            pause["event"], pause["if"] = str(event), if_exp
        elif kind == PauseKind.INVOKE:
            pause["invoke_event"] = str(invoke_event)
        run.pauses.append(pause)
        run.due = run.next_due()
        run.attempt = 0
        if run.due is not None:
            self.runs.schedule(run.run_id, run.due)
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
        fn_id = str(opts.get("function_id") or "")
        target = self.registry.get(fn_id)
        timeout = None
        if opts.get("timeout"):
            try:
                timeout = parse_duration(str(opts["timeout"]))
            except ValueError as exc:
                self.runs.fail_unsupported(run, f"InvokeFunction step {o.user_id}: {exc}")
                return False
        payload = opts.get("payload")
        if not isinstance(payload, dict):
            payload = {}
        data = dict(payload.get("data") or {})
        data["_inngest"] = {
            "source_app_id": fn.app_id,
            "source_fn_id": fn.slug,
            "source_fn_v": fn.version,
            "fn_id": target.slug if target else fn_id,
            "correlation_id": f"{run.run_id}.{o.id}",  # the real key; finish events repeat it
        }
        event = {"name": INVOKED, "data": data, "ts": int(now * 1000)}
        if payload.get("v") is not None:
            event["v"] = payload["v"]
        event_id = self.hooks.emit(event, False)
        # The pause first: a child refused at once (unknown, rate limited) fails it right away.
        self._wait(run, o, PauseKind.INVOKE, StepStatus.WAITING, timeout, started, now, invoke_event=event_id)
        self.state.save_run(run)
        invoked = self.state.get_event_body(event_id)
        if target is None:
            # The real runner's FindInvokedFunction fails: its InvokeFailHandler fails the step.
            self.runs.invoke_failed(
                invoked, {"name": "Error", "message": f"could not find function with ID: {fn_id}"}
            )
        else:
            self.hooks.start_invoked(target, invoked, event_id)
        stored = self.state.get_run(run.run_id)
        if stored is not None and o.id in stored.memo and o.id not in run.memo:
            # Refused at once (its finished event resumed the stored run): take that over.
            run.end_pause(o.id)
            run.memoize(o.id, stored.memo[o.id])
            run.due = stored.due
            return True
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
            self._retry(
                run, target, target, name, EngineOp.CALL, outcome.error, decision.delay_s, started, now
            )
            self.state.save_run(run)
            return False
        self.runs.row(
            run,
            step_id=target,
            name=name,
            op=EngineOp.CALL,
            status=StepStatus.FAILED,
            started=started,
            ended=now,
            error=outcome.error,
        )
        log.warning(
            "run_id=%s gives up after attempt %d: %s (%s)",
            run.run_id,
            run.attempt,
            outcome.error["message"],
            decision.reason,
        )
        self.runs.finish(run, RunStatus.FAILED, outcome.error, error_text=failure_text(outcome))
        return False

    def _retry(
        self,
        run: Run,
        target: str,
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
            step_id=step_id,
            name=name,
            op=op,
            status=StepStatus.RETRYING,
            started=started,
            ended=now,
            error=err,
            scheduled=now + delay,
            delay_ms=round(delay * 1000),
        )
        retry_at = self.clock.due_after(delay)
        attempt = run.attempt + 1
        # Each retry waits on its own, as each is a queue item of its own on the real server: a
        # step of a group (its own call) under its id, the function's call (`stepId=step`)
        # under FUNCTION_RETRY; the run goes on meanwhile (pauses end, other steps retry) and
        # each fires at its own time, with its own attempt.
        run.retries[step_id if target != "step" else FUNCTION_RETRY] = {"attempt": attempt, "due": retry_at}
        run.attempt = 0
        run.due = run.next_due()
        if run.due is not None:
            self.runs.schedule(run.run_id, run.due)
        log.warning(
            "step retried run_id=%s step=%s attempt=%d delay=%.3fs (intended): %s",
            run.run_id,
            name,
            attempt,
            delay,
            err.get("message"),
        )
