"""One redis.asyncio client per event loop, for the Redis store and the Redis channel.

redis.asyncio connections belong to the event loop that opened them; the backend
(uvicorn's thread) and a notebook cell run different loops, so each loop gets a client.

Each client's pool is bounded (`max_connections`) and *waits*: redis-py's default pool
opens at most 100 connections and raises "Too many connections" past them, so a burst of
requests failed as if Redis were down. Here a command finding every connection in use waits
up to `pool_timeout_s` for one, and only then fails with PoolExhausted (a StoreBusy).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import BlockingConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError

from learninngest.store.base import StoreBusy

CONNECT_TIMEOUT_S = 3.0
DEFAULT_MAX_CONNECTIONS = 400
"""As SERVER_LIMIT_CONCURRENCY's default: one connection per request the server lets in."""
DEFAULT_POOL_TIMEOUT_S = 5.0


class PoolExhausted(StoreBusy):
    """Every connection of the pool stayed in use for the whole wait."""


class _WaitingPool(BlockingConnectionPool):
    """A BlockingConnectionPool whose timeout says so (redis-py raises a plain ConnectionError)."""

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().get_connection(*args, **kwargs)
        except RedisConnectionError as exc:
            if isinstance(exc.__cause__, TimeoutError):
                raise PoolExhausted(
                    f"all {self.max_connections} connections were in use for {self.timeout:g} s "
                    "(REDIS_MAX_CONNECTIONS, REDIS_POOL_TIMEOUT_S)"
                ) from exc
            raise


class LoopClients:
    def __init__(
        self,
        url: str,
        *,
        socket_timeout_s: float,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        pool_timeout_s: float = DEFAULT_POOL_TIMEOUT_S,
    ) -> None:
        self.url = url
        self.socket_timeout_s = socket_timeout_s
        self.max_connections = max_connections
        self.pool_timeout_s = pool_timeout_s
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            pool = _WaitingPool.from_url(
                self.url,
                max_connections=self.max_connections,
                timeout=self.pool_timeout_s,
                decode_responses=True,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
                socket_timeout=self.socket_timeout_s,
            )
            client = aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes both
            self._clients[loop] = client
        return client

    async def close(self) -> None:
        clients = list(self._clients.items())
        self._clients.clear()
        current = asyncio.get_running_loop()
        for loop, client in clients:
            # A client can only be closed on its own loop; others go with their (closed) loop.
            if loop is current:
                await client.aclose()
