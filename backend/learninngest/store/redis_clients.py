"""One redis.asyncio client per event loop, for the Redis store and the Redis channel.

redis.asyncio connections belong to the event loop that opened them; the backend
(uvicorn's thread) and a notebook cell run different loops, so each loop gets a client.
"""

from __future__ import annotations

import asyncio
import weakref

import redis.asyncio as aioredis

CONNECT_TIMEOUT_S = 3.0


class LoopClients:
    def __init__(self, url: str, *, socket_timeout_s: float) -> None:
        self.url = url
        self.socket_timeout_s = socket_timeout_s
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = aioredis.Redis.from_url(
                self.url,
                decode_responses=True,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
                socket_timeout=self.socket_timeout_s,
            )
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
