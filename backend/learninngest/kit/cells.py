"""Small synchronous helpers for notebook cells: send, wait, and look at events, runs and steps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import pandas as pd

    from learninngest.kit.stack import Stack
    from learninngest.stream.sse import Message


def _stack(stack: Stack | None) -> Stack:
    if stack is not None:
        return stack
    from learninngest.kit import current

    return current()


def _data(reply: httpx.Response) -> Any:
    reply.raise_for_status()
    return reply.json()


def send(
    query: str,
    *,
    stack: Stack | None = None,
    idempotency_key: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """POST /api/v1/chat; returns the 202 body (request_id, event_ids, result_url)."""
    s = _stack(stack)
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    reply = httpx.post(f"{s.backend_url}/api/v1/chat", json={"query": query, **options}, headers=headers)
    return _data(reply)


def wait_for_result(request_id: str, *, timeout: float = 30.0, stack: Stack | None = None) -> dict[str, Any]:
    """Long-poll GET /api/v1/chat/result/{id}?wait=… until the result is final or `timeout`."""
    import time

    s = _stack(stack)
    deadline = time.monotonic() + timeout
    while True:
        wait = max(0.0, min(30.0, deadline - time.monotonic()))
        reply = httpx.get(
            f"{s.backend_url}/api/v1/chat/result/{request_id}",
            params={"wait": round(wait, 2)},
            timeout=wait + 10,
        )
        result = _data(reply)
        if result["status"] != "pending" or time.monotonic() >= deadline:
            return result


def stream_events(
    request_id: str,
    *,
    last_event_id: str | None = None,
    timeout: float = 60.0,
    stack: Stack | None = None,
) -> Iterator[Message]:
    """GET /api/v1/chat/{id}/stream: each event as it arrives (heartbeats skipped), until
    `done` or `error`. Pass `last_event_id` to resume after an event already seen."""
    from learninngest.stream.sse import parse

    s = _stack(stack)
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    url = f"{s.backend_url}/api/v1/chat/{request_id}/stream"
    with httpx.stream("GET", url, headers=headers, timeout=timeout) as reply:
        if reply.status_code >= 400:
            reply.read()
            reply.raise_for_status()
        for message in parse(reply.iter_lines()):
            if message.comment is None:
                yield message
                if message.event in {"done", "error"}:
                    return


def runs_of(request_id: str, *, stack: Stack | None = None) -> list[dict[str, Any]]:
    """The Inngest runs of a request, through the backend's /api/v1/chat/{id}/runs."""
    s = _stack(stack)
    return _data(httpx.get(f"{s.backend_url}/api/v1/chat/{request_id}/runs"))["runs"]


def steps_of(run_id: str, *, stack: Stack | None = None) -> list[dict[str, Any]]:
    """One row per step attempt of a run (the local engine's own timeline endpoint)."""
    s = _stack(stack)
    return _data(httpx.get(f"{s.inngest_url}/v1/runs/{run_id}/steps"))["data"]


def send_event(
    name: str, data: dict[str, Any], *, id: str | None = None, stack: Stack | None = None
) -> list[str]:
    """Send a raw event to the Inngest server's event API; returns the ids it stored it under.

    `id` is the sender's de-duplication key: a second event with the same `id` starts no run.
    """
    s = _stack(stack)
    key = s.settings.inngest_event_key or "NO_EVENT_KEY_SET"
    body = {"name": name, "data": data} | ({"id": id} if id else {})
    reply = httpx.post(f"{s.inngest_url}/e/{key}", json=[body])
    return _data(reply)["ids"]


def event(event_id: str, *, stack: Stack | None = None) -> dict[str, Any]:
    """One event as the Inngest server stored it (REST v1 /v1/events/{id}: the internal ULID)."""
    s = _stack(stack)
    return _data(httpx.get(f"{s.inngest_url}/v1/events/{event_id}"))["data"]


def recent_events(
    limit: int = 10, *, name: str | None = None, stack: Stack | None = None
) -> list[dict[str, Any]]:
    """The newest events the Inngest server received (REST v1 /v1/events), only `name` if given."""
    s = _stack(stack)
    params: dict[str, Any] = {"limit": limit} | ({"name": name} if name else {})
    return _data(httpx.get(f"{s.inngest_url}/v1/events", params=params))["data"]


TIMELINE_COLUMNS = [
    "run_id",
    "run_status",
    "name",
    "op",
    "attempt",
    "status",
    "started_at",
    "duration_ms",
    "intended_delay_ms",
    "error",
]


def timeline(request_id: str, *, stack: Stack | None = None) -> pd.DataFrame:
    """The runs of a request and their steps, one row per step attempt, as a DataFrame."""
    rows = []
    for run in runs_of(request_id, stack=stack):
        for step in steps_of(run["run_id"], stack=stack):
            error = step.get("error")
            rows.append(
                step
                | {
                    "run_id": run["run_id"],
                    "run_status": run["status"],
                    "error": error.get("message") if isinstance(error, dict) else error,
                }
            )
    return as_table(rows, TIMELINE_COLUMNS)


def as_table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> pd.DataFrame:
    """Rows as a pandas DataFrame, keeping only `columns` (in that order) when given."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    if columns:
        frame = frame.reindex(columns=columns)
    return frame
