"""The Redis channel: every backend process sees every run's events (Redis Streams).

One stream per request under `<prefix>stream:<request_id>`; an event is one XADD (fields
`type` and `data`), its id is Redis's (`<ms>-<seq>`), and XREAD BLOCK follows it. So a
client connected to backend A sees the tokens of a run that backend B executes. Each
XADD renews the key's TTL (`ttl_s`) and caps its length, so Redis cleans up by itself.
"""

from __future__ import annotations

import json
import re
from typing import Any

import redis.asyncio as aioredis

from learninngest.store.finishing import redact_url
from learninngest.store.redis import DEFAULT_PREFIX
from learninngest.store.redis_clients import (
    CONNECT_TIMEOUT_S,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_POOL_TIMEOUT_S,
    LoopClients,
)
from learninngest.stream.base import EventType, StreamEvent

MAX_EVENTS = 100_000
"""Per request (tokens, mostly): XADD trims older ones beyond it."""
BLOCK_S = 5.0
"""Longest XREAD BLOCK: below the connection's read timeout, so a quiet stream is not an error."""
_ID = re.compile(r"[0-9]{1,20}(-[0-9]{1,20})?")  # ASCII digits (\d is any script's), fullmatch


class RedisChannel:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl_s: float = 3600,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        pool_timeout_s: float = DEFAULT_POOL_TIMEOUT_S,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.ttl_s = ttl_s
        # Each open stream holds one connection while its XREAD blocks (up to BLOCK_S): a pool
        # of SERVER_LIMIT_CONCURRENCY connections never makes a stream wait for another.
        self._clients = LoopClients(
            url,
            socket_timeout_s=BLOCK_S + CONNECT_TIMEOUT_S,
            max_connections=max_connections,
            pool_timeout_s=pool_timeout_s,
        )

    def _client(self) -> aioredis.Redis:
        return self._clients.get()

    def _key(self, request_id: str) -> str:
        return f"{self.prefix}stream:{request_id}"

    async def publish(self, request_id: str, type: EventType, data: dict[str, Any]) -> str:
        key = self._key(request_id)
        fields: dict[Any, Any] = {"type": str(type), "data": json.dumps(data, separators=(",", ":"))}
        async with self._client().pipeline(transaction=True) as pipe:
            pipe.xadd(key, fields, maxlen=MAX_EVENTS, approximate=True)
            pipe.expire(key, max(1, int(self.ttl_s)))
            event_id, _ = await pipe.execute()
        return str(event_id)

    async def read(self, request_id: str, *, after: str | None, wait: float) -> list[StreamEvent]:
        key = self._key(request_id)
        block = None if wait <= 0 else max(1, int(min(wait, BLOCK_S) * 1000))
        # [[stream, [(id, {field: value})…]]] (decode_responses: all str); redis-py types it loosely.
        reply: Any = await self._client().xread({key: after or "0-0"}, block=block)
        events: list[StreamEvent] = []
        for _stream, entries in reply or []:
            for event_id, fields in entries:
                events.append(
                    StreamEvent(
                        id=str(event_id), type=EventType(fields["type"]), data=json.loads(fields["data"])
                    )
                )
        return events

    def valid_id(self, event_id: str) -> bool:
        return bool(_ID.fullmatch(event_id))

    async def flush(self, request_id: str) -> None:
        """Nothing waits: every publish is sent at once."""

    async def start(self) -> None:
        """Nothing to begin: the first publish or read opens what it needs."""

    async def close(self) -> None:
        await self._clients.close()

    def __repr__(self) -> str:
        return f"<RedisChannel {redact_url(self.url)} prefix={self.prefix!r}>"
