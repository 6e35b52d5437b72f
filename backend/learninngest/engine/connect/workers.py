"""The live connect workers: which apps each serves, whether it takes calls, what it holds.

A worker is one WebSocket connection (an SDK process may hold several over time: it
reconnects after a drop or a drain with a new connection id and the same instance id).
The router picks a worker for a call here; the gateway adds and removes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Worker:
    conn_id: str
    instance_id: str
    apps: set[str]
    send: Callable[[bytes], Awaitable[None]]
    # None: no limit (the SDK's max_worker_concurrency, per instance on the real server).
    max_concurrency: int | None = None
    ready: bool = False
    draining: bool = False  # WORKER_PAUSE: finishes what it holds, gets nothing new
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    inflight: set[str] = field(default_factory=set)
    sdk_language: str = ""
    sdk_version: str = ""
    last_heartbeat: float = 0.0  # unix seconds

    def metadata(self) -> dict[str, object]:
        """The worker as the Dev Server's `GET /v0/connect/envs/{env}/conns` lists it (ConnMetadata)."""
        status = 2 if self.draining else 1 if self.ready else 0  # DRAINING, READY, CONNECTED
        return {
            "id": self.conn_id,
            "gateway_id": "gw-dev",
            "instance_id": self.instance_id,
            "all_worker_groups": {app: app for app in sorted(self.apps)},
            "synced_worker_groups": {app: app for app in sorted(self.apps)},
            "status": status,
            "last_heartbeat_at": {"seconds": int(self.last_heartbeat)},
            "sdk_language": self.sdk_language,
            "sdk_version": self.sdk_version,
        }

    @property
    def takes_calls(self) -> bool:
        return self.ready and not self.draining and not self.closed.is_set()


class Workers:
    def __init__(self) -> None:
        self._workers: dict[str, Worker] = {}
        self._changed = asyncio.Event()

    def add(self, worker: Worker) -> None:
        self._workers[worker.conn_id] = worker
        self.changed()

    def remove(self, conn_id: str) -> Worker | None:
        worker = self._workers.pop(conn_id, None)
        if worker is not None:
            worker.closed.set()
            self.changed()
        return worker

    def changed(self) -> None:
        """A worker came, went, got ready or freed a slot: wake the calls waiting for one."""
        self._changed.set()
        self._changed = asyncio.Event()

    def get(self, conn_id: str) -> Worker | None:
        return self._workers.get(conn_id)

    def all(self) -> list[Worker]:
        return list(self._workers.values())

    def of_app(self, app: str) -> list[Worker]:
        return [w for w in self._workers.values() if app in w.apps]

    def _load(self, instance_id: str) -> int:
        return sum(len(w.inflight) for w in self._workers.values() if w.instance_id == instance_id)

    def pick(self, app: str, exclude: set[str]) -> Worker | None:
        """The least busy worker of `app` that takes calls and has room (None: none now)."""
        candidates = [
            w
            for w in self.of_app(app)
            if w.takes_calls
            and w.conn_id not in exclude
            and (w.max_concurrency is None or self._load(w.instance_id) < w.max_concurrency)
        ]
        return min(candidates, key=lambda w: self._load(w.instance_id), default=None)

    async def wait_pick(self, app: str, exclude: set[str], timeout_s: float) -> Worker | None:
        """`pick`, waiting up to `timeout_s` for a worker to connect or free a slot."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            worker = self.pick(app, exclude)
            left = deadline - loop.time()
            if worker is not None or left <= 0:
                return worker
            waiter = self._changed
            try:
                await asyncio.wait_for(waiter.wait(), left)
            except TimeoutError:
                return self.pick(app, exclude)
