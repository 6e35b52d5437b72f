"""`step.ai.infer`: the engine makes the inference request while the function is not running.

The app answers an `AIGateway` opcode; `start` records the step as in flight and keeps the
request (it carries the API key) in memory only; the executor then calls `infer`, which
makes the request and memoizes the answer, retries the step with the usual backoff, or,
out of attempts, memoizes the failure. The rules are ai_gateway.py's. After an engine
restart the request is gone: the app is simply called again and reports the opcode again.
"""

from __future__ import annotations

import asyncio
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
        # (run id, step id) -> the request (it carries the API key: never stored).
        self._requests: dict[tuple[str, str], ai_gateway.InferenceRequest] = {}
        runs.finish_hooks.append(self.forget)

    def start(self, run: Run, o: protocol.Opcode, now: float) -> bool:
        """The app asked for an inference: note it (no key in the state); True = go on now."""
        try:
            request = ai_gateway.build_request(o.opts)
        except ValueError as exc:
            self.runs.fail_unsupported(run, f"AIGateway step {o.user_id}: {exc}")
            return False
        self._requests[(run.run_id, o.id)] = request
        seq = self.runs.row(run, o.id, o.user_id, o.op, "Inferring", now, None)
        run.pauses.append({"kind": "ai", "step_id": o.id, "name": o.user_id, "seq": seq, "deadline": None})
        run.due = now  # so that a restart picks the run up again
        return True

    def forget(self, run_id: str) -> None:
        """The run ended: drop the requests it still had (and their keys)."""
        for key in [k for k in self._requests if k[0] == run_id]:
            del self._requests[key]

    async def infer(self, run: Run, fn: FunctionDef, http: ClientPool, timeout_s: float) -> bool:
        """Make every inference the run asked for, at once (as the real server makes those of
        a parallel group), and apply the results; True when the app should be called now."""
        pauses = [p for p in run.pauses if p.get("kind") == "ai"]
        answers = await asyncio.gather(*(self._request(run.run_id, p, http, timeout_s) for p in pauses))
        latest = self.state.get_run(run.run_id)
        if latest is None or latest.finished:
            log.info("run_id=%s ended while its inference was in flight; answer discarded", run.run_id)
            return False
        again = True
        # Successes first: a step that retries counts its attempt from the group's.
        for pause, answer in sorted(zip(pauses, answers, strict=True), key=lambda pa: not _succeeded(pa[1])):
            again = self._apply(latest, fn, pause, answer) and again
        return again

    async def _request(
        self, run_id: str, pause: dict[str, Any], http: ClientPool, timeout_s: float
    ) -> tuple[int | None, bytes, str | None] | None:
        """(status, body, transport error) of one inference; None when the request was lost."""
        request = self._requests.pop((run_id, str(pause.get("step_id"))), None)
        if request is None:
            return None
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
        log.info(
            "inference done run_id=%s step=%s status=%s in %.0f ms",
            run_id,
            pause.get("name"),
            status if status is not None else reason,
            (time.monotonic() - started) * 1000,
        )
        return status, body, reason

    def _apply(
        self,
        run: Run,
        fn: FunctionDef,
        pause: dict[str, Any],
        answer: tuple[int | None, bytes, str | None] | None,
    ) -> bool:
        now = self.clock.now()
        step_id, name, seq = (
            str(pause.get("step_id")),
            str(pause.get("name")),
            int(pause.get("seq") or 0),
        )
        with self.state.tx():
            run.end_pause(step_id)
            run.due = run.next_deadline()
            if answer is None:  # lost in a restart: the app will report the opcode again
                self.state.update_step(seq, status="Interrupted", ended=now)
                self.state.save_run(run)
                return True
            status, body, reason = answer
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
                retry_at = self.clock.due_after(decision.delay_s)
                run.due = retry_at if run.due is None else min(run.due, retry_at)
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


def _succeeded(answer: tuple[int | None, bytes, str | None] | None) -> bool:
    return answer is not None and answer[2] is None and ai_gateway.succeeded(answer[0])
