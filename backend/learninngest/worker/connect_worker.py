"""With INNGEST_CONNECT=1 the backend takes its calls as a connect worker: it dials out to
the Inngest server over a WebSocket (inngest.connect) instead of being called on
/api/inngest. No inbound port is needed for Inngest; the chat API keeps its own.

The worker starts with the backend's lifespan and serves the functions served at that
moment (functions added from a notebook cell later reach the HTTP route only). It does not
wait for the server: the SDK retries the start on its own, so the backend may come up
before the engine (`learninngest up` starts them in that order).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

import inngest
from inngest.connect import ConnectionState, connect

log = logging.getLogger("learninngest.worker")


class ConnectWorker:
    def __init__(self, client: inngest.Inngest, functions: list[inngest.Function[Any]]) -> None:
        self.client = client
        self.functions = functions
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None

    @property
    def state(self) -> ConnectionState | None:
        return None if self._conn is None else self._conn.get_state()

    @property
    def active(self) -> bool:
        """Connected, and the app synced (the handshake syncs before it says ready)."""
        return self.state == ConnectionState.ACTIVE

    async def start(self) -> None:
        # No signal handlers of its own: the server running the backend owns SIGINT/SIGTERM.
        self._conn = connect(
            [(self.client, self.functions)],
            instance_id=f"{socket.gethostname()}-{id(self):x}",
            shutdown_signals=[],
        )
        self._task = asyncio.create_task(self._conn.start(), name="inngest-connect")
        log.info("connect worker started for app %s (%d functions)", self.client.app_id, len(self.functions))

    async def wait_active(self, timeout_s: float) -> bool:
        if self._conn is None:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._conn.wait_for_state(ConnectionState.ACTIVE), timeout_s)
        return self.active

    async def stop(self) -> None:
        """Pause, finish the calls in hand, close (the SDK's graceful shutdown)."""
        if self._conn is None:
            return
        await self._conn.close()
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._task, 30)
        log.info("connect worker stopped")
        self._conn = self._task = None
