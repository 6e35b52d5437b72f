"""Pure: build the call to an app's /api/inngest and turn its reply into an outcome. No IO.

Shapes follow the SDK 0.5.19 fact sheet (docs: shared/reference/inngest-protocol.md §4-§6).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from learninngest.engine.clock import parse_duration, parse_iso
from learninngest.engine.wire import jcs

# Opcodes the engine applies; anything else fails the run with a reason.
SUPPORTED_OPS = {
    "StepRun",
    "StepPlanned",
    "Sleep",
    "WaitForEvent",
    "InvokeFunction",
    "StepError",
    "StepFailed",
    "AIGateway",  # step.ai.infer: the engine makes the request (ai_steps.py)
    "RunComplete",  # the function's return value, after steps it checkpointed (run/checkpoint.py)
    "DiscoveryRequest",  # the SDK asks to be called again (it checkpointed and stopped)
    "DeferAdd",  # defer(): a run to start when this one ends (run/defers.py)
    "DeferAbort",
}
# Opcodes that make the run wait (a sleep, an event, an invoked run); at most one per run.
WAIT_OPS = {"Sleep", "WaitForEvent", "InvokeFunction"}
# `version` of a run's first call: the SDK decides, and says which in x-inngest-req-version.
VERSION_UNSET = -1
# A call's dispatch generation (run/dispatches.py); the SDK echoes it when it checkpoints.
GENERATION_HEADER = "x-inngest-generation-id"


def hash_step_id(step_id: str) -> str:
    """The SDK's step id hash: SHA-1 hex of the user id (`id:n` for the n-th repeat)."""
    return hashlib.sha1(step_id.encode("utf-8")).hexdigest()  # noqa: S324 - protocol, not security


@functools.lru_cache(maxsize=4096)
def call_url(function_url: str, step_id: str) -> str:
    """The registered function URL with `stepId` set to `step` or to one planned step's hash.

    Pure and asked for on every call with the same few pairs: kept, not parsed again."""
    parts = urlsplit(function_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "stepId"]
    query.append(("stepId", step_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


def build_call_body(
    *,
    event: dict[str, Any],
    events: list[dict[str, Any]],
    memo: dict[str, Any],
    run_id: str,
    attempt: int,
    max_attempts: int,
    stack: list[str],
    version: int = VERSION_UNSET,
    use_api: bool = False,
    disable_immediate_execution: bool = False,
    fn_id: str = "",
    qi_id: str = "",
    defers: dict[str, Any] | None = None,
    generation: int = 0,
) -> dict[str, Any]:
    """The request body the SDK validates strictly: ints are ints, use_api top-level, stack an object.

    `use_api`: like the real server past its size limit, send no `events` and no `steps`;
    the SDK fetches them from GET /v0/runs/{id}/batch and /v0/runs/{id}/actions.
    `version`: -1 on a run's first call, then what the SDK answered (x-inngest-req-version).
    `fn_id` / `qi_id`: the function's UUID and the call's queue item, as the real executor
    sends them; with them the TypeScript SDK 4.x checkpoints the steps it runs in one call
    (POST /v1/checkpoint/{run_id}/async, run/checkpoint.py). Left out when empty.
    `disable_immediate_execution`: set once a reply held several opcodes (a parallel group),
    as the real executor does; the SDK then reports each new step as planned.
    `defers`: the run's kept defers (run/defers.py: call_entries), sent on every call as the
    real server does, so the TypeScript SDK stops sending their DeferAdd again.
    `generation`: the call's dispatch generation (run/dispatches.py), as `ctx.generation_id`
    beside the header, as the real executor stamps it; left out when 0 (its `omitempty`).
    """
    return {
        "event": event,
        "events": [] if use_api else events,
        "steps": {} if use_api else memo,
        "defers": defers or {},
        "ctx": {
            **({"fn_id": fn_id} if fn_id else {}),
            **({"qi_id": qi_id} if qi_id else {}),
            **({"generation_id": generation} if generation else {}),
            "run_id": run_id,
            "attempt": int(attempt),
            "max_attempts": int(max_attempts),
            "disable_immediate_execution": disable_immediate_execution,
            "use_api": use_api,
            "stack": {"stack": list(stack), "current": len(stack)},
        },
        "use_api": use_api,
        "version": int(version),
    }


def encode(body: Any) -> bytes:
    """JCS (RFC 8785) bytes: what the real server sends and signs (wire/jcs.py)."""
    return jcs.dumps(body)


@dataclass
class Opcode:
    op: str
    id: str
    name: str = ""
    display_name: str = ""
    opts: dict[str, Any] | None = None
    data: Any = None
    error: dict[str, Any] | None = None
    user_id: str = ""  # userland.id: the id the user wrote


@dataclass
class Completed:
    output: Any


@dataclass
class Ops:
    ops: list[Opcode]
    # x-inngest-no-retry / retry-after on a 206: they apply to a StepError in the reply.
    no_retry: bool = False
    retry_after: str | None = None
    # x-inngest-req-version (0 when absent, like the real server reads it).
    request_version: int = 0


@dataclass
class CallFailed:
    """The call failed as a whole (HTTP 4xx/5xx, bad reply, transport error)."""

    error: dict[str, Any]
    retriable: bool = True
    retry_after: str | None = None
    status: int = 0  # HTTP status of the reply; 0 when there was none (transport error)


@dataclass
class Unsupported:
    """The app answered with something this engine does not implement; fail the run, say why."""

    reason: str


Outcome = Completed | Ops | CallFailed | Unsupported


def error_object(name: str, message: str, stack: str | None = None) -> dict[str, Any]:
    """The error shape the SDK turns back into an exception: name and message are required."""
    err: dict[str, Any] = {"name": name, "message": message}
    if stack:
        err["stack"] = stack
    return err


def normalize_error(raw: Any, fallback: str) -> dict[str, Any]:
    """A step's error as memoized: name, message and a stack if there is one (what the SDK reads)."""
    if not isinstance(raw, dict):
        return error_object("Error", fallback if raw in (None, "") else str(raw))
    return error_object(
        str(raw.get("name") or "Error"),
        str(raw.get("message") or raw.get("error") or fallback),
        raw.get("stack") if isinstance(raw.get("stack"), str) else None,
    )


def error_body(raw: Any, fallback: str) -> dict[str, Any]:
    """A failed call's JSON error body as the SDK sent it (`stack: null`, `code` kept), like the
    real server stores it as the run's output; only a missing name or message is filled in."""
    if not isinstance(raw, dict):
        return error_object("Error", fallback if raw in (None, "") else str(raw))
    err = dict(raw)
    if not isinstance(err.get("name"), str) or not err["name"]:
        err["name"] = "Error"
    if not isinstance(err.get("message"), str) or not err["message"]:
        err["message"] = str(raw.get("error") or fallback)
    return err


def request_version(headers: dict[str, str]) -> int | None:
    """The SDK's x-inngest-req-version reply header as an int (None when absent or not a number)."""
    value = _header(headers, "x-inngest-req-version")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def sleep_until(op: Opcode, now: float) -> float:
    """When a Sleep ends (unix seconds). Like the real server: `opts.duration`, else `name`;
    an ISO time there (the Python SDK) or a duration such as `10s` (the TypeScript SDK);
    empty means now. ValueError for anything else."""
    value = str((op.opts or {}).get("duration") or op.name or "").strip()
    if not value:
        return now
    if len(value) >= 10:  # the real server's own test: only a date is that long
        try:
            return parse_iso(value)
        except ValueError:
            pass
    return now + parse_duration(value)


def parse_opcode(raw: Any) -> Opcode:
    """One opcode object as the SDK sends it (a reply, a checkpoint); ValueError if it is not one."""
    return _opcode(raw)


def unstream(headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
    """A streamed reply (HTTP 201, inngest-py's `INNGEST_STREAMING=force`) as the reply it wraps.

    The SDK answers 201 at once, sends a space every few seconds while the function runs, then
    one JSON object `{"status", "headers", "body"}`: the reply it would have sent, its body
    JSON-encoded as a string. As the Dev Server (httpdriver.ParseStream): leading spaces are
    skipped, a string body is decoded once, the wrapped headers are set over the outer ones,
    and an `error` in the object, or one that cannot be read, is a failed call (ValueError).
    """
    try:
        wrapper = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"app answered 201 (a streamed reply) that is not JSON: {body[:200]!r}") from exc
    if not isinstance(wrapper, dict):
        raise ValueError(f"app answered 201 (a streamed reply) that is not an object: {body[:200]!r}")
    if wrapper.get("error") is not None:
        raise ValueError(f"app's streamed reply carries an error: {wrapper['error']}")
    status = wrapper.get("status")
    if not isinstance(status, int) or isinstance(status, bool):
        raise ValueError(f"app's streamed reply has no status: {body[:200]!r}")
    inner = wrapper.get("body")
    raw = inner.encode() if isinstance(inner, str) else b"" if inner is None else json.dumps(inner).encode()
    merged = {k.lower(): v for k, v in headers.items()}
    extra = wrapper.get("headers")
    if isinstance(extra, dict):
        merged.update({str(k).lower(): str(v) for k, v in extra.items()})
    return status, merged, raw


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _opcode(raw: Any) -> Opcode:
    if not isinstance(raw, dict) or not isinstance(raw.get("op"), str) or not raw.get("id"):
        raise ValueError(f"not an opcode object: {str(raw)[:200]}")
    userland = raw.get("userland")
    if not isinstance(userland, dict):
        userland = {}
    opts = raw.get("opts") if isinstance(raw.get("opts"), dict) else None
    return Opcode(
        op=raw["op"],
        id=str(raw["id"]),
        name=str(raw.get("name") or ""),
        display_name=str(raw.get("displayName") or raw.get("name") or ""),
        opts=opts,
        data=raw.get("data"),
        error=error if isinstance(error := raw.get("error"), dict) else None,
        user_id=str(userland.get("id") or raw.get("displayName") or raw.get("name") or ""),
    )


def parse_reply(status: int, headers: dict[str, str], body: bytes) -> Outcome:
    """Turn one HTTP reply of the SDK into an outcome.

    `x-inngest-no-retry` and `retry-after` count on every status, 206 included (the TypeScript
    SDK sends them on a StepError); a JSON error body is kept on every failing status (the
    TypeScript SDK answers 400 with one for a non-retriable error).
    """
    try:
        payload = json.loads(body) if body.strip() else None
    except ValueError:
        payload = _NOT_JSON
    # Like the real server: only an explicit "true" means no retry (the TS SDK sends "false").
    no_retry = (_header(headers, "x-inngest-no-retry") or "").strip().lower() == "true"
    retry_after = _header(headers, "retry-after")
    if status == 200:
        if payload is _NOT_JSON:
            return CallFailed(
                error_object("InvalidReply", f"app answered 200 with non-JSON body: {body[:200]!r}")
            )
        return Completed(payload)
    if status == 206:
        if isinstance(payload, dict) and "op" in payload:
            payload = [payload]  # a durable endpoint's RunComplete comes as one object
        if not isinstance(payload, list) or not payload:
            return CallFailed(error_object("InvalidReply", "app answered 206 without a list of opcodes"))
        try:
            ops = [_opcode(item) for item in payload]
        except ValueError as exc:
            return CallFailed(error_object("InvalidReply", str(exc)))
        unknown = sorted({o.op for o in ops} - SUPPORTED_OPS)
        if unknown:
            return Unsupported(f"opcode {', '.join(unknown)} is not supported by the LearnInngest engine")
        return Ops(
            ops,
            no_retry=no_retry,
            retry_after=retry_after,
            request_version=request_version(headers) or 0,
        )
    if status == 201:
        # The driver unwraps a streamed reply (unstream) before it gets here: this 201 wrapped one.
        return CallFailed(error_object("InvalidReply", "app's streamed reply (201) wraps another 201"))
    detail = body[:200].decode("utf-8", "replace")
    # An SDK's serialized error has both (a bare {"message": "Unauthorized"} is not one).
    if isinstance(payload, dict) and payload.get("name") and "message" in payload:
        err = error_body(payload, f"app answered HTTP {status}: {detail}")
    elif status == 500:
        err = error_body(
            payload if payload is not _NOT_JSON else None, f"app answered HTTP 500: {body[:200]!r}"
        )
    else:
        err = error_object(f"HTTP{status}", f"app answered HTTP {status}: {detail}")
    return CallFailed(err, retriable=not no_retry, retry_after=retry_after, status=status)


_NOT_JSON: Any = object()
