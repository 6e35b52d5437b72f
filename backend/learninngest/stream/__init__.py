"""Token streams: the worker publishes a run's events to a channel; api/stream.py reads them.

`open_channel(store_url)` follows the result store by default (`kind="auto"`): a Redis
store (shared by several backends) gets the Redis channel, so every backend sees every run;
any other store gets the in-process channel (the worker and the stream endpoint share the
process). `kind="realtime"` streams through Inngest Realtime instead (stream/realtime.py):
every backend sees every run with no Redis of one's own, e.g. on Inngest Cloud.
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
    kind: str = "auto",
    realtime_url: str = "",
    realtime_channel: str = "learninngest-chat",
    signing_keys: list[str] | None = None,
) -> Channel:
    """The channel of `kind` ("auto": the one that goes with the result store at `store_url`;
    "memory", "redis" or "realtime"). No IO yet. A Redis one gets its own pool, bounded like
    the store's (`max_connections`, `pool_timeout_s`); a Realtime one publishes to and
    subscribes at the Inngest server `realtime_url` with `signing_keys` (cloud mode)."""
    if kind == "realtime":
        from learninngest.stream.realtime import RealtimeChannel

        return RealtimeChannel(realtime_url, signing_keys=signing_keys, channel=realtime_channel, ttl_s=ttl_s)
    scheme = store_url.split("://", 1)[0].lower() if "://" in store_url else ""
    if kind == "redis" or (kind == "auto" and scheme in {"redis", "rediss"}):
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
