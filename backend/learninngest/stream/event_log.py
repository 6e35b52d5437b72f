"""The bounded per-request event log that the in-process and Realtime channels keep.

A log per request id holds its events in id order; `read(after=id, wait=s)` returns the
ones after an id, or waits for the next append. Ids come one of two ways:
- numbered (`append`, the in-process channel): 1, 2, 3... per request, the position;
- given (`given_ids=True`, `add`, the Realtime channel): integers the publisher chose,
  that grow in a request's order; one already filed is skipped (a process files its own
  publishes, then their echo), one older than the last goes in its place.

Bounds: a log is dropped `ttl_s` after its last event unless someone is waiting on it, at
most `max_requests` logs are kept (the oldest go first, and `on_drop` hears of each), and a
log keeps its newest `max_events` events (the oldest are trimmed, as Redis's XADD MAXLEN).

Events are kept packed, not as StreamEvent objects: a token is a (type, text, attempt)
tuple, anything else (type, data); a given id sits in an array of 8-byte integers. A token
then costs ~130 bytes instead of ~350 (the object, its id string and its data dict), and
a finished request's log is kept for `ttl_s` (an hour by default).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from learninngest.stream.base import EventType, StreamEvent

MAX_REQUESTS = 10_000
MAX_EVENTS = 100_000
"""Per request (tokens, mostly), as the Redis channel's cap: older ones are trimmed."""
MAX_GIVEN_ID = 2**63 - 1
"""The largest given id (an 8-byte slot); a channel refuses larger ones when it receives them."""

_Packed = tuple[EventType, str, int] | tuple[EventType, dict[str, Any]]
_Reader = tuple[asyncio.AbstractEventLoop, asyncio.Event]
_NO_READERS: frozenset[_Reader] = frozenset()


def _pack(type: EventType, data: dict[str, Any]) -> _Packed:
    if type is EventType.token and data.keys() == {"text", "attempt"}:
        return (type, data["text"], data["attempt"])
    return (type, dict(data))


def _unpack(event_id: int, packed: _Packed) -> StreamEvent:
    if len(packed) == 3:
        data: dict[str, Any] = {"text": packed[1], "attempt": packed[2]}
    else:
        data = dict(packed[1])  # a copy: a reader cannot change the log
    return StreamEvent(id=str(event_id), type=packed[0], data=data)


class _Log:
    # One per request for ttl_s: slots, and no set until someone waits on it (most logs
    # never get a waiting reader; an empty set alone is 216 bytes).
    __slots__ = ("events", "readers", "touched", "trimmed")

    def __init__(self) -> None:
        self.events: list[_Packed] = []
        self.touched = time.monotonic()
        self.trimmed = 0  # events dropped from the front: numbered ids start after them
        self.readers = _NO_READERS  # replaced, never changed in place (under the log's lock)

    def after(self, start: int) -> list[StreamEvent]:
        first = max(start - self.trimmed, 0)
        return [_unpack(n, p) for n, p in enumerate(self.events[first:], self.trimmed + first + 1)]

    def trim(self, max_events: int) -> None:
        excess = len(self.events) - max_events
        if excess > 0:
            del self.events[:excess]
            self.trimmed += excess


class _GivenLog(_Log):
    __slots__ = ("ids",)

    def __init__(self) -> None:
        super().__init__()
        self.ids = array("q")  # events[i]'s id, ascending

    def after(self, start: int) -> list[StreamEvent]:
        first = bisect.bisect_right(self.ids, start)
        return [_unpack(i, p) for i, p in zip(self.ids[first:], self.events[first:], strict=True)]

    def trim(self, max_events: int) -> None:
        excess = len(self.events) - max_events
        if excess > 0:
            del self.events[:excess]
            del self.ids[:excess]


class EventLog:
    """Per-request logs, bounded; safe to share between tasks and threads (one lock)."""

    def __init__(
        self,
        *,
        ttl_s: float,
        given_ids: bool = False,
        max_requests: int = MAX_REQUESTS,
        max_events: int = MAX_EVENTS,
        on_drop: Callable[[str], None] | None = None,
    ) -> None:
        self.ttl_s = ttl_s
        self.given_ids = given_ids
        self.max_requests = max_requests
        self.max_events = max_events
        self._on_drop = on_drop
        self._new: Callable[[], _Log] = _GivenLog if given_ids else _Log
        self._logs: OrderedDict[str, _Log] = OrderedDict()
        # The worker may publish from another thread's loop (a notebook kernel): one lock.
        self._lock = threading.Lock()

    def append(self, request_id: str, type: EventType, data: dict[str, Any]) -> str:
        """Add one event with the next number as its id; return the id (numbered logs)."""
        assert not self.given_ids, "a log of given ids takes them with add()"
        with self._lock:
            log = self._touch(request_id)
            log.events.append(_pack(type, data))
            event_id = log.trimmed + len(log.events)
            log.trim(self.max_events)
            readers = log.readers
        _wake(readers)
        return str(event_id)

    def add(self, request_id: str, events: Iterable[tuple[int, EventType, dict[str, Any]]]) -> None:
        """File events whose ids the publisher gave (0..MAX_GIVEN_ID); ids already filed are skipped."""
        assert self.given_ids, "a numbered log makes its ids with append()"
        with self._lock:
            log = self._touch(request_id)
            assert isinstance(log, _GivenLog)
            for event_id, type, data in events:
                ids = log.ids
                if not ids or event_id > ids[-1]:  # the usual case: ids grow
                    ids.append(event_id)
                    log.events.append(_pack(type, data))
                    continue
                at = bisect.bisect_left(ids, event_id)
                if ids[at] != event_id:  # older than the last, and new: in its place
                    ids.insert(at, event_id)
                    log.events.insert(at, _pack(type, data))
            log.trim(self.max_events)
            readers = log.readers
        _wake(readers)

    async def read(self, request_id: str, *, after: str | None, wait: float) -> list[StreamEvent]:
        """The events after id `after` (all when None); when there are none, wait up to `wait`
        seconds for the next append. `after` is a valid id of the channel (digits)."""
        start = int(after) if after else 0
        flag = asyncio.Event()
        reader = (asyncio.get_running_loop(), flag)
        with self._lock:
            log = self._logs.get(request_id)
            if log is None:
                log = self._logs[request_id] = self._new()  # a reader may come before the first event
            found = log.after(start)
            if found or wait <= 0:
                return found
            # Registered under the lock: no append slips between.
            log.readers = log.readers | {reader}
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await flag.wait()
        finally:
            with self._lock:
                log.readers = log.readers - {reader} or _NO_READERS
        with self._lock:
            return log.after(start)

    def clear(self) -> None:
        with self._lock:
            self._logs.clear()

    def __len__(self) -> int:
        return len(self._logs)

    def _touch(self, request_id: str) -> _Log:
        """The request's log, made the newest (created when missing). Under the lock."""
        self._expire()
        log = self._logs.get(request_id) or self._new()
        self._logs[request_id] = log
        self._logs.move_to_end(request_id)
        log.touched = time.monotonic()
        return log

    def _expire(self) -> None:
        """Drop logs untouched for ttl_s (and the oldest beyond max_requests). Under the lock."""
        cutoff = time.monotonic() - self.ttl_s
        for _ in range(len(self._logs)):
            oldest_id, oldest = next(iter(self._logs.items()))
            if oldest.touched >= cutoff and len(self._logs) < self.max_requests:
                break
            if oldest.readers:
                self._logs.move_to_end(oldest_id)  # someone still follows it
                oldest.touched = time.monotonic()
                continue
            del self._logs[oldest_id]
            if self._on_drop is not None:
                self._on_drop(oldest_id)


def _wake(readers: frozenset[_Reader]) -> None:
    for loop, flag in readers:
        with contextlib.suppress(RuntimeError):  # that reader's loop is closed
            loop.call_soon_threadsafe(flag.set)
