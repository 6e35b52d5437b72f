"""The gateway on a port of its own, as the Dev Server serves it (its port + 1).

The socket is also served on the engine's own port (/v0/connect); this listener exists
for workers and tools that expect the Dev Server's layout. It runs inside the engine's
event loop, so it starts and stops with the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

from learninngest.engine.connect.gateway import Gateway


class _QuietServer(uvicorn.Server):
    # The engine's own server owns the process's signals; this one is stopped by the engine.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class GatewayListener:
    def __init__(self, gateway: Gateway, host: str, port: int) -> None:
        self.gateway = gateway
        self.host = host
        self.port = port
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float = 10.0) -> None:
        app = Starlette(routes=[WebSocketRoute("/v0/connect", self.gateway.serve)])
        config = uvicorn.Config(app, host=self.host, port=self.port, lifespan="off", log_level="warning")
        self._server = _QuietServer(config)
        self._task = asyncio.create_task(self._server.serve(), name="connect-gateway")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not self._server.started:
            if self._task.done():
                raise RuntimeError(f"connect gateway could not listen on {self.host}:{self.port}")
            if loop.time() > deadline:
                raise RuntimeError(
                    f"connect gateway not ready on {self.host}:{self.port} after {timeout_s:g}s"
                )
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5.0)
        self._server = self._task = None
