"""The stream channel interface: what the worker publishes while a run works, and readers follow.

A channel carries one request's events in order: `status`, `token`, `retry`, `done`. Each
event gets an id that only grows, so a reader that lost its connection asks for the events
after the last id it saw (SSE's Last-Event-ID) and misses none, repeats none.

A channel is a view of the run, never its record: the result a client can trust is the
one step "save" writes to the result store. Events expire (`ttl_s` after the request's
last event), and publishing to a channel that is down only loses the view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class EventType(StrEnum):
    status = "status"  # {"status": "pending" | "running", "attempt": n}
    token = "token"  # {"text": delta, "attempt": n}
    retry = "retry"  # {"attempt": n}: a new attempt starts; the client drops the partial text
    done = "done"  # the run saved its result (readers take the result from the store)
    error = "error"  # the request failed (readers take the message from the store)


TERMINAL = frozenset({EventType.done, EventType.error})


@dataclass(frozen=True)
class StreamEvent:
    id: str
    type: EventType
    data: dict[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    """Per-request, ordered, resumable event logs. Safe to share between tasks."""

    url: str
    ttl_s: float

    async def publish(self, request_id: str, type: EventType, data: dict[str, Any]) -> str:
        """Append one event to `request_id`'s log; return its id."""

    async def read(self, request_id: str, *, after: str | None, wait: float) -> list[StreamEvent]:
        """The events after id `after` (all of them when None), oldest first.

        When there are none yet, wait up to `wait` seconds for the next ones, and
        return [] if none came (a channel may return early; the caller loops).
        """

    def valid_id(self, event_id: str) -> bool:
        """Whether `event_id` has the shape of this channel's ids (a Last-Event-ID check)."""

    async def flush(self, request_id: str) -> None:
        """Send what waits for `request_id` now (a channel that batches tokens); the worker
        calls it when an attempt's text is complete, before the step ends."""

    async def start(self) -> None:
        """Begin what must run before the first event (the Realtime channel's subscription)."""

    async def close(self) -> None: ...
