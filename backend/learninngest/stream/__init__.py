"""Token streams: the worker publishes a run's events to a channel; api/stream.py reads them.

`open_channel(store_url)` follows the result store: a Redis store (shared by several
backends) gets the Redis channel, so every backend sees every run; any other store gets
the in-process channel (the worker and the stream endpoint share the process).
"""

from __future__ import annotations

from learninngest.stream.base import TERMINAL, Channel, EventType, StreamEvent

__all__ = ["TERMINAL", "Channel", "EventType", "StreamEvent", "open_channel"]


def open_channel(
    store_url: str,
    *,
    ttl_s: float = 3600,
    max_connections: int | None = None,
    pool_timeout_s: float | None = None,
) -> Channel:
    """The channel that goes with the result store at `store_url` (no IO yet); a Redis one
    gets its own pool, bounded like the store's (`max_connections`, `pool_timeout_s`)."""
    scheme = store_url.split("://", 1)[0].lower() if "://" in store_url else ""
    if scheme in {"redis", "rediss"}:
        from learninngest.store.redis_clients import DEFAULT_MAX_CONNECTIONS, DEFAULT_POOL_TIMEOUT_S
        from learninngest.stream.redis import RedisChannel

        return RedisChannel(
            store_url,
            ttl_s=ttl_s,
            max_connections=max_connections or DEFAULT_MAX_CONNECTIONS,
            pool_timeout_s=pool_timeout_s or DEFAULT_POOL_TIMEOUT_S,
        )
    from learninngest.stream.memory import MemoryChannel

    return MemoryChannel(ttl_s=ttl_s)
