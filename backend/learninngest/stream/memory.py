"""The in-process channel: the worker and the stream endpoint live in one backend process.

Ids are 1, 2, 3... per request. A request's log is dropped `ttl_s` after its last event,
and at most MAX_REQUESTS logs are kept (the oldest go first), so memory stays bounded.

A log keeps its events packed, not as StreamEvent objects: a token is a (type, text,
attempt) tuple, anything else (type, data); the id is the position. A token then costs
~130 bytes instead of ~350 (the object, its id string and its data dict), and a finished
request's log of a few dozen tokens is kept for `ttl_s` (an hour by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import OrderedDict
from typing import Any

from learninngest.stream.base import EventType, StreamEvent

MAX_REQUESTS = 10_000

_Packed = tuple[EventType, str, int] | tuple[EventType, dict[str, Any]]


def _pack(type: EventType, data: dict[str, Any]) -> _Packed:
    if type is EventType.token and data.keys() == {"text", "attempt"}:
        return (type, data["text"], data["attempt"])
    return (type, dict(data))


def _unpack(events: list[_Packed], start: int) -> list[StreamEvent]:
    out = []
    for number, packed in enumerate(events[start:], start + 1):
        if len(packed) == 3:
            data: dict[str, Any] = {"text": packed[1], "attempt": packed[2]}
        else:
            data = dict(packed[1])  # a copy: a reader cannot change the log
        out.append(StreamEvent(id=str(number), type=packed[0], data=data))
    return out


_Reader = tuple[asyncio.AbstractEventLoop, asyncio.Event]
_NO_READERS: frozenset[_Reader] = frozenset()


class _Log:
    # One per request for STREAM_TTL_S: slots and no set until someone waits on it: 144 bytes
    # empty instead of 401 (an empty set alone is 216); most logs never get a waiting reader.
    __slots__ = ("events", "readers", "touched")

    def __init__(self) -> None:
        self.events: list[_Packed] = []
        self.touched = time.monotonic()
        self.readers = _NO_READERS  # replaced, never changed in place (under the channel's lock)


class MemoryChannel:
    def __init__(self, url: str = "memory://", *, ttl_s: float = 3600) -> None:
        self.url = url
        self.ttl_s = ttl_s
        self._logs: OrderedDict[str, _Log] = OrderedDict()
        # The worker may publish from another thread's loop (a notebook kernel): lock the dict.
        self._lock = threading.Lock()

    async def publish(self, request_id: str, type: EventType, data: dict[str, Any]) -> str:
        with self._lock:
            self._expire()
            log = self._logs.get(request_id) or _Log()
            self._logs[request_id] = log
            self._logs.move_to_end(request_id)
            log.events.append(_pack(EventType(type), data))
            event_id = str(len(log.events))
            log.touched = time.monotonic()
            readers = list(log.readers)
        for loop, flag in readers:
            with contextlib.suppress(RuntimeError):  # that reader's loop is closed
                loop.call_soon_threadsafe(flag.set)
        return event_id

    async def read(self, request_id: str, *, after: str | None, wait: float) -> list[StreamEvent]:
        start = int(after) if after else 0
        flag = asyncio.Event()
        reader = (asyncio.get_running_loop(), flag)
        with self._lock:
            log = self._logs.get(request_id)
            if log is None:
                log = self._logs[request_id] = _Log()  # a reader may come before the first event
            if len(log.events) > start or wait <= 0:
                return _unpack(log.events, start)
            # Registered under the lock: no publish slips between.
            log.readers = log.readers | {reader}
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await flag.wait()
        finally:
            with self._lock:
                log.readers = log.readers - {reader} or _NO_READERS
        with self._lock:
            return _unpack(log.events, start)

    def valid_id(self, event_id: str) -> bool:
        # ASCII only: str.isdigit() is also true for '²' or '٣', which int() then refuses.
        return event_id.isascii() and event_id.isdigit() and len(event_id) < 12

    def _expire(self) -> None:
        """Drop logs untouched for ttl_s (and the oldest beyond MAX_REQUESTS). Under the lock."""
        cutoff = time.monotonic() - self.ttl_s
        for _ in range(len(self._logs)):
            oldest_id, oldest = next(iter(self._logs.items()))
            if oldest.touched >= cutoff and len(self._logs) < MAX_REQUESTS:
                break
            if oldest.readers:
                self._logs.move_to_end(oldest_id)  # someone still follows it
                oldest.touched = time.monotonic()
                continue
            del self._logs[oldest_id]

    async def flush(self, request_id: str) -> None:
        """Nothing waits: every publish is sent at once."""

    async def start(self) -> None:
        """Nothing to begin: the first publish or read opens what it needs."""

    async def close(self) -> None:
        with self._lock:
            self._logs.clear()

    def __repr__(self) -> str:
        return f"<MemoryChannel {len(self._logs)} request(s)>"
