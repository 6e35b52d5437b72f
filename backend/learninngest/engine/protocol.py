"""Pure: build the call to an app's /api/inngest and turn its reply into an outcome. No IO.

Shapes follow the SDK 0.5.19 fact sheet (docs: shared/reference/inngest-protocol.md §4-§6).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import rfc8785

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
}


def hash_step_id(step_id: str) -> str:
    """The SDK's step id hash: SHA-1 hex of the user id (`id:n` for the n-th repeat)."""
    return hashlib.sha1(step_id.encode("utf-8")).hexdigest()  # noqa: S324 - protocol, not security


def call_url(function_url: str, step_id: str) -> str:
    """The registered function URL with `stepId` set to `step` or to one planned step's hash."""
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
) -> dict[str, Any]:
    """The request body the SDK validates strictly: ints are ints, use_api top-level, stack an object."""
    return {
        "event": event,
        "events": events,
        "steps": memo,
        "ctx": {
            "run_id": run_id,
            "attempt": int(attempt),
            "max_attempts": int(max_attempts),
            "disable_immediate_execution": False,
            "use_api": False,
            "stack": {"stack": list(stack), "current": len(stack)},
        },
        "use_api": False,
        "version": 1,
    }


def encode(body: Any) -> bytes:
    """JCS (RFC 8785) bytes: what the real server sends and signs."""
    return rfc8785.dumps(body)


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


@dataclass
class CallFailed:
    """The call failed as a whole (HTTP 500, bad reply, transport error)."""

    error: dict[str, Any]
    retriable: bool = True
    retry_after: str | None = None


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
    """Keep name/message/stack (and code) of an SDK error body; make up what is missing."""
    if not isinstance(raw, dict):
        return error_object("Error", fallback if raw in (None, "") else str(raw))
    err = error_object(
        str(raw.get("name") or "Error"),
        str(raw.get("message") or raw.get("error") or fallback),
        raw.get("stack") if isinstance(raw.get("stack"), str) else None,
    )
    if isinstance(raw.get("code"), str):
        err["code"] = raw["code"]
    return err


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _opcode(raw: Any) -> Opcode:
    if not isinstance(raw, dict) or not isinstance(raw.get("op"), str) or not raw.get("id"):
        raise ValueError(f"not an opcode object: {str(raw)[:200]}")
    userland = raw.get("userland") if isinstance(raw.get("userland"), dict) else {}
    opts = raw.get("opts") if isinstance(raw.get("opts"), dict) else None
    return Opcode(
        op=raw["op"],
        id=str(raw["id"]),
        name=str(raw.get("name") or ""),
        display_name=str(raw.get("displayName") or raw.get("name") or ""),
        opts=opts,
        data=raw.get("data"),
        error=raw.get("error") if isinstance(raw.get("error"), dict) else None,
        user_id=str(userland.get("id") or raw.get("displayName") or raw.get("name") or ""),
    )


def parse_reply(status: int, headers: dict[str, str], body: bytes) -> Outcome:
    """Turn one HTTP reply of the SDK into an outcome."""
    try:
        payload = json.loads(body) if body.strip() else None
    except ValueError:
        payload = _NOT_JSON
    if status == 200:
        if payload is _NOT_JSON:
            return CallFailed(
                error_object("InvalidReply", f"app answered 200 with non-JSON body: {body[:200]!r}")
            )
        return Completed(payload)
    if status == 206:
        if not isinstance(payload, list) or not payload:
            return CallFailed(error_object("InvalidReply", "app answered 206 without a list of opcodes"))
        try:
            ops = [_opcode(item) for item in payload]
        except ValueError as exc:
            return CallFailed(error_object("InvalidReply", str(exc)))
        unknown = sorted({o.op for o in ops} - SUPPORTED_OPS)
        if unknown:
            return Unsupported(f"opcode {', '.join(unknown)} is not supported by the LearnInngest engine")
        return Ops(ops)
    if status == 201:
        return Unsupported(
            "streaming replies (HTTP 201, INNGEST_STREAMING=force) are not supported"
            " by the LearnInngest engine"
        )
    no_retry = (_header(headers, "x-inngest-no-retry") or "").strip().lower() == "true"
    retry_after = _header(headers, "retry-after")
    if status == 500:
        err = normalize_error(
            payload if payload is not _NOT_JSON else None, f"app answered HTTP 500: {body[:200]!r}"
        )
        return CallFailed(err, retriable=not no_retry, retry_after=retry_after)
    detail = body[:200].decode("utf-8", "replace")
    return CallFailed(
        error_object(f"HTTP{status}", f"app answered HTTP {status}: {detail}"),
        retriable=not no_retry,
        retry_after=retry_after,
    )


_NOT_JSON: Any = object()
