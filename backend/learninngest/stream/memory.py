"""The in-process channel: the worker and the stream endpoint live in one backend process.

Ids are 1, 2, 3... per request, numbered by the shared log (stream/event_log.py), which
also bounds it: a request's log is dropped `ttl_s` after its last event, at most
10,000 logs are kept (the oldest go first), and a log keeps its newest 100,000 events.
"""

from __future__ import annotations

from typing import Any

from learninngest.stream.base import EventType, StreamEvent
from learninngest.stream.event_log import EventLog


class MemoryChannel:
    def __init__(self, url: str = "memory://", *, ttl_s: float = 3600) -> None:
        self.url = url
        self.ttl_s = ttl_s
        self._log = EventLog(ttl_s=ttl_s)

    async def publish(self, request_id: str, type: EventType, data: dict[str, Any]) -> str:
        return self._log.append(request_id, EventType(type), data)

    async def read(self, request_id: str, *, after: str | None, wait: float) -> list[StreamEvent]:
        return await self._log.read(request_id, after=after, wait=wait)

    def valid_id(self, event_id: str) -> bool:
        # ASCII only: str.isdigit() is also true for '²' or '٣', which int() then refuses.
        return event_id.isascii() and event_id.isdigit() and len(event_id) < 12

    async def flush(self, request_id: str) -> None:
        """Nothing waits: every publish is sent at once."""

    async def start(self) -> None:
        """Nothing to begin: the first publish or read opens what it needs."""

    async def close(self) -> None:
        self._log.clear()

    def __repr__(self) -> str:
        return f"<MemoryChannel {len(self._log)} request(s)>"
