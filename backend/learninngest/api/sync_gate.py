"""Accept work only when it can run: POST /api/v1/chat waits for the app's first sync.

An event sent before the backend's functions are registered with the Inngest server
starts no run. `learninngest up` and the kit's Stack start the backend first and sync
it after, so they build it with the gate closed and open it once the sync succeeded;
until then POST answers 503 with Retry-After. With `up --workers N` every backend process
has its own gate; the parent syncs once and then tells each process to open it
(serving/backend_processes.py). `learninngest serve` cannot know when an
outside server (Dev Server, Cloud) syncs, so its gate is open from the start; a request
sent before that sync is finished as `error` by the reconciler (worker/reconciler.py).
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

RETRY_AFTER_S = 1


class SyncGate:
    """Thread-safe: the Stack opens it from its own thread, routes read it on the server's loop."""

    def __init__(self, *, open_: bool = True) -> None:
        self._open = threading.Event()
        if open_:
            self._open.set()

    def open(self) -> None:
        self._open.set()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()


async def _gate(request: Request) -> SyncGate:
    return request.app.state.sync_gate


async def require_synced(request: Request, gate: Annotated[SyncGate, Depends(_gate)]) -> None:
    """503 + Retry-After until the app's functions are synced with the Inngest server."""
    if not gate.is_open:
        settings = request.app.state.settings
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=(
                "The backend is starting: its functions are not yet synced with the Inngest server at "
                f"{settings.inngest_api_url}, so a request now would never run. Retry in a moment."
            ),
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )


SyncedDep = Depends(require_synced)
