"""HTTP clients for calls to apps: one client lent to each call in flight, reused afterwards.

Why not one shared httpx.AsyncClient: httpcore's connection pool walks all its connections
every time a request starts or ends, and for each idle one asks the socket whether the server
hung up (a poll() through anyio). With 32 calls in flight that walk cost more CPU than the
rest of the engine (docs/performance.md). A client used by one call at a time holds one or
two connections, so the walk is O(1); clients are reused last-in first-out, so a warm
keep-alive connection is used again and no call opens a new TCP connection needlessly.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator

import httpx

from learninngest.serving.plain_http import PlainHttp

# Connections one client keeps: a client usually talks to one app, a few cover several apps.
_PER_CLIENT = 2


class ClientPool:
    def __init__(self, call_timeout_s: float) -> None:
        self._timeout = httpx.Timeout(call_timeout_s, connect=min(10.0, call_timeout_s))
        # Made on first use and shared: building an SSL context costs ~10 ms of CPU per client.
        self._ssl: ssl.SSLContext | None = None
        self._idle: list[httpx.AsyncClient] = []
        self._all: set[httpx.AsyncClient] = set()
        self._closed = False
        # The run loop's calls to apps on plain http:// (the common case): a leaner client.
        self.plain = PlainHttp(call_timeout_s, connect_timeout_s=min(10.0, call_timeout_s))

    def _new(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=_PER_CLIENT, max_keepalive_connections=_PER_CLIENT)
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        client = httpx.AsyncClient(timeout=self._timeout, limits=limits, verify=self._ssl)
        self._all.add(client)
        return client

    def open(self) -> None:
        """Lend clients again (the engine starts again, maybe in another event loop)."""
        self._closed = False

    @contextlib.asynccontextmanager
    async def lend(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client for one call; as many exist as calls were ever in flight at once."""
        if self._closed:
            raise RuntimeError("client pool is closed")
        client = self._idle.pop() if self._idle else self._new()
        try:
            yield client
        finally:
            if self._closed or client.is_closed:
                self._all.discard(client)
            else:
                self._idle.append(client)

    @property
    def size(self) -> int:
        return len(self._all)

    async def aclose(self) -> None:
        self._closed = True
        self.plain.close()
        clients, self._all, self._idle = list(self._all), set(), []
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()
