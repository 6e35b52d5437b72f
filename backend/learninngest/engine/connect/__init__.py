"""Connect workers: apps that dial out to the engine over a WebSocket and take calls on it.

The room, from the wire up:
- `codec`: the SDK's protobuf messages (connect.proto) in and out; a reply as an outcome.
- `leases` (pure): who holds a call, until when; extended by the worker, never by time.
- `workers`: the live connections, their apps and calls; picks a worker for a call.
- `router`: `ConnectRouter.call(url, body)`, the run loop's way to call a connected app.
- `gateway`: one socket per worker: handshake (and the apps' sync), heartbeats, acks,
  replies, lease extensions, drain.
- `routes`: POST /v0/connect/start, POST /v0/connect/flush and the /v0/connect socket.
- `listener`: the socket on a port of its own (the Dev Server's port + 1).

Entry point: `Connect(settings, registry, ids)`; the engine mounts `connect.routes()`,
hands `connect.router` to the executor and starts/stops it with itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter

from learninngest.engine.connect.gateway import Gateway
from learninngest.engine.connect.listener import GatewayListener
from learninngest.engine.connect.router import ConnectRouter, is_connect_url
from learninngest.engine.connect.routes import build_router

if TYPE_CHECKING:
    from learninngest.engine.ids import UlidFactory
    from learninngest.engine.settings import EngineSettings
    from learninngest.engine.sync.registry import Registry

__all__ = ["Connect", "ConnectRouter", "is_connect_url"]


class Connect:
    def __init__(self, settings: EngineSettings, registry: Registry, ids: UlidFactory) -> None:
        self.settings = settings
        self.ids = ids
        self.registry = registry
        self.router = ConnectRouter(settings, registry, ids)
        self.gateway = Gateway(settings, registry, self.router)
        self._listener: GatewayListener | None = None

    def routes(self) -> APIRouter:
        return build_router(self.gateway, self.registry, self.ids)

    async def start(self) -> None:
        port = self.settings.connect_gateway_port
        if port:
            self._listener = GatewayListener(self.gateway, self.settings.host, port)
            await self._listener.start()

    async def stop(self) -> None:
        await self.gateway.drain()
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
