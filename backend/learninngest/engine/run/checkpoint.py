"""Checkpoints: steps an app ran on its own, reported while it runs (the TypeScript SDK 4.x).

Two kinds, as on the real server (`pkg/execution/checkpoint`):

- **Async** (`POST /v1/checkpoint/{run_id}/async`): a run the engine called (the call sent
  `ctx.fn_id`) runs several steps in that one call and reports each when it ends. They are
  memoized at once, with their timeline rows; the call's reply then ends the run
  (`RunComplete`) or reports what comes next as usual. Only steps that ran (`StepRun`) or
  are about to (`StepPlanned`, nothing to store) may be checkpointed; anything else is
  refused (400) and the SDK sends it in its reply instead.
- **Sync** (`POST /v1/checkpoint`, then `/v1/checkpoint/{run_id}/steps`): a durable endpoint
  (`inngest.endpoint()`) runs in its caller's HTTP request. Its first checkpoint creates the
  run (and names its app and function: sync/endpoints.py); later ones add steps and end it
  with the endpoint's response (`RunComplete`). A step that cannot finish in the request (a
  sleep, a wait, a retried error) moves the run to the background: the engine handles that
  opcode as it would a reply's and calls the endpoint back later (wire/endpoint_driver.py).

A run that went to the background can be read with its token at
`GET /v1/http/runs/{run_id}/output?token=…` (where the endpoint redirects its caller).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from learninngest.engine.clock import Clock
from learninngest.engine.ids import is_ulid
from learninngest.engine.run import defers
from learninngest.engine.run.hooks import Emit
from learninngest.engine.run.lifecycle import RunLifecycle
from learninngest.engine.run.outcomes import Outcomes
from learninngest.engine.state.db import State
from learninngest.engine.state.models import EngineOp, Run, RunStatus, StepStatus
from learninngest.engine.sync.endpoints import endpoint_config
from learninngest.engine.sync.functions import FunctionDef
from learninngest.engine.sync.registry import Registry
from learninngest.engine.wire import protocol

log = logging.getLogger("learninngest.engine")

HTTP_REQUEST_EVENT = "inngest/http.request"  # the event a durable endpoint's run starts from
# Opcodes a running call may checkpoint (the real server's async checkpoint takes these).
ASYNC_OPS = {"StepRun", "Step", "StepPlanned"}
RAN = {"StepRun", "Step"}


class CheckpointError(Exception):
    """A checkpoint refused: its HTTP status and a sentence saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_ops(raw: Any) -> list[protocol.Opcode]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise CheckpointError(400, "steps must be a list of opcode objects")
    try:
        return [protocol.parse_opcode(item) for item in raw]
    except ValueError as exc:
        raise CheckpointError(400, f"invalid step in checkpoint: {exc}") from None


def duration_s(o: protocol.Opcode, raw: dict[str, Any]) -> float:
    """How long the step ran, from its `timing` (`b`: nanoseconds), else 0."""
    timing = raw.get("timing")
    span = timing.get("b") if isinstance(timing, dict) else None
    return max(0.0, float(span) / 1e9) if isinstance(span, int | float) else 0.0


def api_output(result: Any) -> tuple[Any, int]:
    """A durable endpoint's response (`{status, headers, body}`): its body (JSON when it is
    JSON) as the run's output, as the real server stores it, and its status."""
    if not isinstance(result, dict):
        return result, 200
    status = result.get("status")
    body = result.get("body")
    if isinstance(body, str):
        with contextlib.suppress(ValueError):
            body = json.loads(body)
    return body, status if isinstance(status, int) else 200


class Checkpoints:
    """The checkpoint API's logic; http/checkpoint.py is its HTTP face."""

    def __init__(
        self,
        state: State,
        clock: Clock,
        registry: Registry,
        runs: RunLifecycle,
        outcomes: Outcomes,
        emit: Emit,
        secret: str | None = None,
        stream_token: Callable[[str], str] | None = None,
        fresh_s: float | None = None,
    ) -> None:
        """`stream_token(run_id)`: the `realtime_token` a durable endpoint's caller subscribes
        to its run's stream with (a Realtime JWT for channel = run id, topic `$stream`: the
        engine passes Realtime's); an opaque token for a part tested alone."""
        self.state = state
        self.clock = clock
        self.registry = registry
        self.runs = runs
        self.outcomes = outcomes
        self.emit = emit
        # Signs the tokens that read a run's output: the signing key when there is one (they
        # then survive a restart), else a secret of this process.
        self._secret = (secret or secrets.token_hex(32)).encode()
        self.stream_token = stream_token or (lambda run_id: self.token(run_id, "realtime"))
        # None: dispatch validation off; else the real server's skip window for fresh calls.
        self.fresh_s = fresh_s

    # --- tokens
    def token(self, run_id: str, purpose: str = "output") -> str:
        return hmac.new(self._secret, f"{purpose}:{run_id}".encode(), hashlib.sha256).hexdigest()

    def token_ok(self, run_id: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.token(run_id), str(token))

    # --- POST /v1/checkpoint/{run_id}/async
    def async_steps(
        self,
        run_id: str,
        fn_id: str | None,
        raw_steps: Any,
        generation: Any = None,
        started_ms: Any = None,
    ) -> int:
        """Memoize the steps a call in flight ran; returns how many. CheckpointError if refused.

        `generation` / `started_ms`: the call's `X-Inngest-Generation-Id` as the SDK echoes it,
        and when the SDK began the call (wall-clock ms). With dispatch validation on, as the
        real server: a call begun less than `checkpoint_fresh_s` ago is taken as current; an
        older one must still be in flight (run/dispatches.py), else 409, a stale dispatch.
        Without a generation, no check. Checked after the run and the opcodes, as there."""
        ops = parse_ops(raw_steps)
        run = self._active(run_id)
        fn = self.registry.get(run.function_slug)
        if fn_id and fn is not None and fn_id != fn.uuid:
            raise CheckpointError(400, f"fn_id {fn_id} is not the function of run {run_id} ({fn.uuid})")
        refused = sorted({o.op for o in ops} - ASYNC_OPS - defers.LAZY_OPS)
        if refused:
            raise CheckpointError(
                400, f"cannot checkpoint opcode {', '.join(refused)}: send it in the call's reply"
            )
        self._fence(run_id, generation, started_ms)
        now = self.clock.now()
        raws = raw_steps if isinstance(raw_steps, list) else []
        taken = self.runs.checkpointed.setdefault(run_id, set())
        count = 0
        with self.state.tx():
            self._defers(run, ops, now)
            for o, raw in zip(ops, raws, strict=True):
                if o.op not in RAN or o.id in run.memo:
                    continue  # StepPlanned, defers: nothing to memoize; a repeat: already memoized
                self._ran(run, o, now - duration_s(o, raw), now)
                taken.add(o.id)
                count += 1
            self.state.save_run(run)
        return count

    def _fence(self, run_id: str, generation: Any, started_ms: Any) -> None:
        if self.fresh_s is None:
            return  # dispatch validation is off (the Dev Server's default)
        if not isinstance(generation, int) or isinstance(generation, bool) or generation == 0:
            return  # an SDK that sends none (older ones, connect workers)
        if isinstance(started_ms, int | float) and not isinstance(started_ms, bool) and started_ms:
            # The SDK's wall clock, so the engine's wall clock (not its virtual one). A stamp
            # too large for a float, in the future or NaN is no reason to skip the check.
            try:
                elapsed_s = time.time() - float(started_ms) / 1000
            except OverflowError:
                elapsed_s = -1.0
            if 0 <= elapsed_s < self.fresh_s:
                return
        stale = self.runs.dispatches.stale(run_id, generation)
        if stale is not None:
            log.warning("run_id=%s checkpoint refused: %s", run_id, stale)
            raise CheckpointError(409, stale)

    # --- POST /v1/checkpoint
    def new_run(
        self,
        run_id: str,
        event: Any,
        raw_steps: Any,
        request_version: int | None,
        retries: int | None,
    ) -> dict[str, Any]:
        """Create a durable endpoint's run (and record its function) with the steps it ran so far."""
        if not isinstance(run_id, str) or not is_ulid(run_id):
            raise CheckpointError(400, f"invalid run_id {run_id!r}: send the ULID the SDK generated")
        if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
            raise CheckpointError(400, "event must be an object with a data object (the HTTP request)")
        data = event["data"]
        domain = str(data.get("domain") or "")
        if not domain.startswith(("http://", "https://")):
            raise CheckpointError(
                400, f"event.data.domain must be the endpoint's origin (http://…), not {domain!r}"
            )
        ops = parse_ops(raw_steps)
        if self.state.get_run(run_id) is not None:
            raise CheckpointError(409, "Run already exists")
        try:
            fn = self.registry.upsert_endpoint(domain, endpoint_config(data, retries))
        except ValueError as exc:
            raise CheckpointError(409, f"durable endpoint refused: {exc}") from None
        now = self.clock.now()
        body: dict[str, Any] = {
            "name": str(event.get("name") or HTTP_REQUEST_EVENT),
            "data": data,
            "ts": event.get("ts") if isinstance(event.get("ts"), int) else int(now * 1000),
        }
        if event.get("id"):
            body["id"] = str(event["id"])
        event_id = self.emit(body, True)
        stored = self.state.get_event_body(event_id) or body
        run = Run(
            run_id=run_id,
            function_slug=fn.slug,
            function_version=fn.version,
            event_id=event_id,
            event=stored,
            events=[stored],
            status=RunStatus.RUNNING,
            started=now,
            due=None,  # it runs in its caller's request: nothing for the run loop to do
            request_version=request_version if isinstance(request_version, int) else protocol.VERSION_UNSET,
        )
        self.state.insert_run(run)
        log.info("run started run_id=%s fn=%s event_id=%s (durable endpoint)", run_id, fn.slug, event_id)
        reply = {
            "fn_id": fn.uuid,
            "app_id": self.state.app_uuid_of(fn.slug),
            "run_id": run_id,
            "realtime_token": self.stream_token(run_id),  # the SDK requires one
        }
        if ops:
            reply["token"] = self.token(run_id)
            self._sync(run, fn, ops, raw_steps)
        return reply

    # --- POST /v1/checkpoint/{run_id}/steps
    def sync_steps(self, run_id: str, raw_steps: Any) -> None:
        ops = parse_ops(raw_steps)
        run = self._active(run_id)
        fn = self.registry.get(run.function_slug)
        if fn is None:
            raise CheckpointError(400, f"function {run.function_slug} of run {run_id} is not known any more")
        self._sync(run, fn, ops, raw_steps)

    def _sync(self, run: Run, fn: FunctionDef, ops: list[protocol.Opcode], raw_steps: Any) -> None:
        """Steps that ran, then what moves the run to the background, then its end."""
        now = self.clock.now()
        raws = raw_steps if isinstance(raw_steps, list) else []
        with self.state.tx():
            self._defers(run, ops, now)
            for o, raw in zip(ops, raws, strict=True):
                if o.op in RAN and o.id not in run.memo:
                    self._ran(run, o, now - duration_s(o, raw), now)
            self.state.save_run(run)
        later = [o for o in ops if o.op not in RAN and o.op != "RunComplete" and o.op not in defers.LAZY_OPS]
        if later:
            # A sleep, a wait, an error to retry, a request to be called again: the run goes on
            # in the background, as after a reply with these opcodes.
            log.info("run_id=%s goes on in the background (%s)", run.run_id, ", ".join(o.op for o in later))
            again = self.outcomes.apply(run, fn, "step", protocol.Ops(later), now, now)
            if again and not run.finished:
                run.due = self.clock.now()
                self.state.save_run(run)
                self.runs.schedule(run.run_id, run.due)
        for o in ops:
            if o.op == "RunComplete" and not run.finished:
                self._complete(run, o, now)

    def _defers(self, run: Run, ops: list[protocol.Opcode], now: float) -> None:
        """defer() in a checkpoint: kept with the run as from a reply (run/defers.py)."""
        defers.apply(run, ops, self.runs.step_row, now, now)

    def _complete(self, run: Run, o: protocol.Opcode, now: float) -> None:
        output, status = api_output(o.data)
        failed = status >= 500  # the real server: every status but 5xx completes the run
        err = protocol.error_object("Error", f"invalid status code: {status}") if failed else None
        with self.state.tx():
            self.runs.row(
                run,
                step_id="step",
                name="function",
                op=EngineOp.RUN_COMPLETE,
                status=StepStatus.FAILED if failed else StepStatus.COMPLETED,
                started=run.started,
                ended=now,
                output=output,
                error=err,
            )
            if err is not None:
                self.runs.finish(run, RunStatus.FAILED, err | {"output": output})
            else:
                self.runs.finish(run, RunStatus.COMPLETED, output)

    # --- helpers
    def _ran(self, run: Run, o: protocol.Opcode, started: float, ended: float) -> None:
        run.memoize(o.id, {"data": o.data})
        self.runs.step_row(run, o, StepStatus.COMPLETED, started, ended, output=o.data)
        log.info("step done run_id=%s step=%s (checkpointed)", run.run_id, o.user_id)

    def _active(self, run_id: str) -> Run:
        if not is_ulid(run_id):
            raise CheckpointError(400, f"invalid run id {run_id!r}: not a ULID")
        run = self.state.get_run(run_id)
        if run is None:
            raise CheckpointError(404, f"run {run_id} not found")
        if run.finished:
            raise CheckpointError(400, f"run {run_id} already ended ({run.status}): nothing to checkpoint")
        return run
