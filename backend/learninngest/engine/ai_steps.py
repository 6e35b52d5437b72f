"""`step.ai.infer`: the engine makes the inference request while the function is not running.

The app answers an `AIGateway` opcode; `start` records the step as in flight and keeps the
request (it carries the API key) in memory only; the executor then calls `infer`, which
makes the request and memoizes the answer, retries the step with the usual backoff, or,
out of attempts, memoizes the failure. The rules are ai_gateway.py's. After an engine
restart the request is gone: the app is simply called again and reports the opcode again.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from learninngest.engine import ai_gateway, protocol, retries
from learninngest.engine.client_pool import ClientPool
from learninngest.engine.functions import FunctionDef
from learninngest.engine.run_lifecycle import RunLifecycle
from learninngest.engine.state import Run

log = logging.getLogger("learninngest.engine")


class AiSteps:
    def __init__(self, runs: RunLifecycle) -> None:
        self.runs = runs
        self.state = runs.state
        self.clock = runs.clock
        self._requests: dict[str, ai_gateway.InferenceRequest] = {}

    def start(self, run: Run, o: protocol.Opcode, now: float) -> bool:
        """The app asked for an inference: note it (no key in the state); True = go on now."""
        try:
            request = ai_gateway.build_request(o.opts)
        except ValueError as exc:
            self.runs.fail_unsupported(run, f"AIGateway step {o.user_id}: {exc}")
            return False
        self._requests[run.run_id] = request
        seq = self.runs.row(run, o.id, o.user_id, o.op, "Inferring", now, None)
        run.pauses.append({"kind": "ai", "step_id": o.id, "name": o.user_id, "seq": seq, "deadline": None})
        run.due = now  # so that a restart picks the run up again
        return True

    async def infer(self, run: Run, fn: FunctionDef, http: ClientPool, timeout_s: float) -> bool:
        """Make the request and apply its result; True when the app should be called now."""
        waiting = next(p for p in run.pauses if p.get("kind") == "ai")
        request = self._requests.pop(run.run_id, None)
        if request is None:  # lost in a restart: the app will report the opcode again
            with self.state.tx():
                self.state.update_step(waiting.get("seq", 0), status="Interrupted", ended=self.clock.now())
                run.end_pause(str(waiting.get("step_id")))
                run.due = None
                self.state.save_run(run)
            return True
        started = time.monotonic()
        status: int | None = None
        body, reason = b"", None
        try:
            async with http.lend() as client:
                resp = await client.post(
                    request.url, content=request.body, headers=request.headers, timeout=timeout_s
                )
            status, body = resp.status_code, resp.content
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc or 'no answer'}"
        latest = self.state.get_run(run.run_id)
        if latest is None or latest.finished:
            log.info("run_id=%s ended while its inference was in flight; answer discarded", run.run_id)
            return False
        log.info(
            "inference done run_id=%s step=%s status=%s in %.0f ms",
            run.run_id,
            waiting.get("name"),
            status if status is not None else reason,
            (time.monotonic() - started) * 1000,
        )
        return self._apply(latest, fn, waiting, status, body, reason)

    def _apply(
        self,
        run: Run,
        fn: FunctionDef,
        waiting: dict[str, Any],
        status: int | None,
        body: bytes,
        reason: str | None,
    ) -> bool:
        now = self.clock.now()
        step_id, name, seq = (
            str(waiting.get("step_id")),
            str(waiting.get("name")),
            int(waiting.get("seq") or 0),
        )
        with self.state.tx():
            run.end_pause(step_id)
            run.due = None
            if reason is None and ai_gateway.succeeded(status):
                value = ai_gateway.response_value(body)
                run.memoize(step_id, {"data": value})
                self.state.update_step(seq, status="Completed", ended=now, output=value)
                run.attempt = 0
                self.state.save_run(run)
                return True
            err = ai_gateway.failure_error(status, body, reason)
            decision = retries.decide(run.attempt, fn.max_attempts, now=now)
            if decision.retry:
                self.state.update_step(
                    seq,
                    status="Retrying",
                    ended=now,
                    error=err,
                    scheduled_for_intended=now + decision.delay_s,
                    intended_delay_ms=round(decision.delay_s * 1000),
                )
                run.attempt += 1
                run.due = self.clock.due_after(decision.delay_s)
                self.state.save_run(run)
                self.runs.queue.schedule(run.run_id, run.due)
                log.warning(
                    "step retried run_id=%s step=%s attempt=%d delay=%.3fs (intended): %s",
                    run.run_id,
                    name,
                    run.attempt,
                    decision.delay_s,
                    err["name"],
                )
                return False
            run.memoize(step_id, ai_gateway.failure_memo(body))
            self.state.update_step(seq, status="Failed", ended=now, error=err)
            run.attempt = 0
            self.state.save_run(run)
            log.warning(
                "step failed run_id=%s step=%s: %s (%s)", run.run_id, name, err["name"], decision.reason
            )
            return True
