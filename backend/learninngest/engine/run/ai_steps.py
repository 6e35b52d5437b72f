"""`step.ai.infer`: the engine makes the inference request while the function is not running.

The app answers an `AIGateway` opcode; `start` records the step as in flight and keeps the
request (it carries the API key) in memory only; the executor then calls `infer` (beside the
planned steps of the same reply), which makes the request and memoizes the answer, retries
the step with the usual backoff, or, out of attempts, memoizes the failure. Each inference
counts its own attempts and waits for its own backoff (`Run.retries`); at its retry the
function is called and asks for it again. The rules are ai_gateway.py's. After an engine
restart the request is gone: the app is simply called again and reports the opcode again.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx

from learninngest.engine.clock import Clock
from learninngest.engine.run.lifecycle import RunLifecycle
from learninngest.engine.state.db import State
from learninngest.engine.state.models import Pause, PauseKind, Run, StepStatus
from learninngest.engine.sync.functions import FunctionDef
from learninngest.engine.wire import ai_gateway, protocol, retries
from learninngest.engine.wire.client_pool import ClientPool

log = logging.getLogger("learninngest.engine")


class AiSteps:
    def __init__(
        self, state: State, clock: Clock, runs: RunLifecycle, http: ClientPool, timeout_s: float
    ) -> None:
        self.state = state
        self.clock = clock
        self.runs = runs
        self.http = http  # the engine's client pool (wire/client_pool.py)
        self.timeout_s = timeout_s
        # (run id, step id) -> the request (it carries the API key: never stored).
        self._requests: dict[tuple[str, str], ai_gateway.InferenceRequest] = {}
        self._flying: set[tuple[str, str]] = set()  # requests being made now

    def start(self, run: Run, o: protocol.Opcode, now: float) -> bool:
        """The app asked for an inference: note it (no key in the state); True = go on now."""
        try:
            request = ai_gateway.build_request(o.opts)
        except ValueError as exc:
            self.runs.fail_unsupported(run, f"AIGateway step {o.user_id}: {exc}")
            return False
        self._requests[(run.run_id, o.id)] = request
        seq = self.runs.step_row(run, o, StepStatus.INFERRING, now, None, attempt=run.step_attempt(o.id))
        run.pauses.append(
            {"kind": PauseKind.AI, "step_id": o.id, "name": o.user_id, "seq": seq, "deadline": None}
        )
        run.due = now  # so that a restart picks the run up again
        return True

    def forget(self, run_id: str) -> None:
        """The run ended: drop the requests it still had (and their keys)."""
        for key in [k for k in self._requests if k[0] == run_id]:
            del self._requests[key]

    def pending(self, run: Run) -> list[Pause]:
        """The run's inferences whose request is still to make."""
        return [
            p
            for p in run.pauses
            if p["kind"] == PauseKind.AI and (run.run_id, p["step_id"]) in self._requests
        ]

    def drop_lost(self, run: Run) -> bool:
        """End the inferences whose request is gone (an engine restart): the app, called again,
        asks for them again. True when there were some."""
        lost = [
            p
            for p in run.pauses
            if p["kind"] == PauseKind.AI
            and (key := (run.run_id, p["step_id"])) not in self._requests
            and key not in self._flying
        ]
        if not lost:
            return False
        with self.state.tx():
            for pause in lost:
                run.end_pause(pause["step_id"])
                self.state.update_step(
                    pause.get("seq", 0), status=StepStatus.INTERRUPTED, ended=self.clock.now()
                )
            run.due = self.clock.now()
            self.state.save_run(run)
        return True

    async def infer(self, run: Run, fn: FunctionDef) -> bool:
        """Make every inference the run asked for, at once (as the real server makes those of
        a parallel group), and apply the results; True when the app should be called now (an
        answer is memoized; one that fails and retries waits for its own backoff)."""
        keys = [(run.run_id, p["step_id"]) for p in self.pending(run)]
        requests = [self._requests.pop(key) for key in keys]
        self._flying.update(keys)
        try:
            answers = await asyncio.gather(
                *(self._request(key, req) for key, req in zip(keys, requests, strict=True))
            )
        finally:
            self._flying.difference_update(keys)
        latest = self.state.get_run(run.run_id)
        if latest is None or latest.finished:
            log.info("run_id=%s ended while its inference was in flight; answer discarded", run.run_id)
            return False
        again = False
        for (_, step_id), answer in zip(keys, answers, strict=True):
            pause = latest.pause(step_id)
            if pause is not None:
                again = self._apply(latest, fn, pause, answer) or again
        return again

    async def _request(
        self, key: tuple[str, str], request: ai_gateway.InferenceRequest
    ) -> tuple[int | None, bytes, str | None]:
        """(status, body, transport error) of one inference."""
        run_id, step_id = key
        started = time.monotonic()
        status: int | None = None
        body, reason = b"", None
        try:
            async with self.http.lend() as client:
                resp = await client.post(
                    request.url, content=request.body, headers=request.headers, timeout=self.timeout_s
                )
            status, body = resp.status_code, resp.content
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc or 'no answer'}"
        log.info(
            "inference done run_id=%s step=%s status=%s in %.0f ms",
            run_id,
            step_id,
            status if status is not None else reason,
            (time.monotonic() - started) * 1000,
        )
        return status, body, reason

    def _apply(
        self,
        run: Run,
        fn: FunctionDef,
        pause: Pause,
        answer: tuple[int | None, bytes, str | None],
    ) -> bool:
        """Memoize one answer (True: call the app now), or schedule the step's retry."""
        now = self.clock.now()
        step_id, name, seq = pause["step_id"], pause.get("name", ""), pause.get("seq", 0)
        attempt = run.step_attempt(step_id)  # this step's own, not shared with the group's
        with self.state.tx():
            run.end_pause(step_id)
            run.due = now  # the app is called with the answer (again after a restart)
            status, body, reason = answer
            if reason is None and ai_gateway.succeeded(status):
                value = ai_gateway.response_value(body)
                run.memoize(step_id, {"data": value})
                self.state.update_step(seq, status=StepStatus.COMPLETED, ended=now, output=value)
                self.state.save_run(run)
                return True
            err = ai_gateway.failure_error(status, body, reason)
            decision = retries.decide(attempt, fn.max_attempts, now=now)
            if decision.retry:
                self.state.update_step(
                    seq,
                    status=StepStatus.RETRYING,
                    ended=now,
                    error=err,
                    scheduled_for_intended=now + decision.delay_s,
                    intended_delay_ms=round(decision.delay_s * 1000),
                )
                run.retries[step_id] = {
                    "attempt": attempt + 1,
                    "due": self.clock.due_after(decision.delay_s),
                }
                run.due = run.next_due()
                self.state.save_run(run)
                if run.due is not None:
                    self.runs.schedule(run.run_id, run.due)
                log.warning(
                    "step retried run_id=%s step=%s attempt=%d delay=%.3fs (intended): %s",
                    run.run_id,
                    name,
                    attempt + 1,
                    decision.delay_s,
                    err["name"],
                )
                return False
            run.memoize(step_id, ai_gateway.failure_memo(body))
            self.state.update_step(seq, status=StepStatus.FAILED, ended=now, error=err)
            self.state.save_run(run)
            log.warning(
                "step failed run_id=%s step=%s: %s (%s)", run.run_id, name, err["name"], decision.reason
            )
            return True
