"""The result store interface: what every backend (sqlite, memory, redis, postgres) must do."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel, Field, field_validator


class Status(StrEnum):
    pending = "pending"
    done = "done"
    error = "error"


def utcnow() -> datetime:
    return datetime.now(UTC)


class ChatRecord(BaseModel):
    """One chat request and, once final, its result."""

    request_id: str
    status: Status = Status.pending
    query: str = ""
    content: str | None = None
    error: str | None = None
    model: str | None = None
    usage: dict[str, int] | None = None
    attempts: int | None = None
    event_ids: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime | None = None
    owner: str | None = None
    """Who created it: the API key's name when authentication is on (api/auth.py), else None."""

    @field_validator("created_at", "completed_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # Every backend hands back aware UTC datetimes; a naive one is taken to be UTC already.
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def final(self) -> bool:
        return self.status is not Status.pending


class Wakeups(StrEnum):
    """How a long-poll in this process learns that a request was finished elsewhere."""

    local = "local"  # only this process writes the store: the worker's notify() is enough
    poll = "poll"  # other processes may write it without telling: re-read it now and then
    publish = "publish"  # finish() publishes the id; finished_ids() hears every process


class Purged(NamedTuple):
    """What one purge() removed."""

    records: int
    keys: int


class StoreUnavailable(RuntimeError):
    """The store cannot be reached; the message names the URL."""


class StoreBusy(StoreUnavailable):
    """The store is up, but every connection this process may open stayed in use too long."""


class ResultStore(Protocol):
    """Async result store. Implementations must be safe to share between threads/tasks."""

    url: str
    retention_s: float
    """Final records older than this (since completed_at) are removed by purge()."""
    wakeups: Wakeups

    async def create(self, record: ChatRecord, *, max_pending: int = 0) -> bool:
        """Insert a new pending record (replacing nothing: request ids are unique).

        With `max_pending` > 0 and an owner, the insert also reserves one of the owner's
        `max_pending` slots (RATE_LIMIT_MAX_PENDING), atomically: concurrent creates, in
        this process or another, never leave the owner more pending records than that. The
        slot is released when the record is finished, however it ends. False: refused, the
        owner is at the limit (nothing written); True: the record exists (now or already).
        """

    async def get(self, request_id: str) -> ChatRecord | None: ...

    async def set_event_ids(self, request_id: str, event_ids: list[str]) -> None: ...

    async def add_event_ids(self, request_id: str, event_ids: list[str]) -> None:
        """Append the ids not yet on the record (a re-sent event, an event found late)."""

    async def count_attempt(self, request_id: str) -> int | None:
        """Add one to `attempts` of a pending record and return the new count, atomically.

        The worker calls it before each LLM call, so `attempts` counts the calls really
        made, also the one repeated after an Inngest server crash (a step is delivered
        at least once). None (and nothing changed) once final or when unknown.
        """

    async def pending_before(self, cutoff: datetime, limit: int) -> list[ChatRecord]:
        """Up to `limit` pending records created before `cutoff`, oldest first (the reconciler)."""

    async def finish(self, request_id: str, **fields: Any) -> ChatRecord | None:
        """Move a record to a final status (`status` in fields) and set its result fields.

        A record that is already final is left as it is and returned unchanged,
        so a late duplicate (e.g. a failure handler after success) never overwrites it.
        Returns None when the request id is unknown.
        """

    async def claim_idempotency_key(self, key: str, request_id: str, ttl_s: int) -> str:
        """Bind `key` to `request_id` unless it is bound (and not expired); return the bound id."""

    async def release_idempotency_key(self, key: str, request_id: str) -> None:
        """Unbind `key` if it is bound to `request_id` (the request was never enqueued)."""

    async def count_pending(self, owner: str) -> int:
        """How many records of `owner` are still pending (the per-key concurrency limit)."""

    async def hit(self, bucket: str, window_s: int) -> tuple[int, float]:
        """Count one request in `bucket`'s current fixed window of `window_s` seconds
        (windows are aligned on the epoch, so every replica agrees); return the count so far
        in this window, this one included, and the seconds until the window ends."""

    async def purge(self) -> Purged:
        """Remove final records completed more than `retention_s` ago and expired idempotency
        keys; pending records are kept. The backend calls it periodically (a store that
        expires entries by itself, like Redis with TTLs, may have nothing left to do)."""

    async def ping(self) -> None:
        """Raise StoreUnavailable when the store cannot be used."""

    async def close(self) -> None: ...
