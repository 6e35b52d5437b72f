"""Wakes long-polls when their request is finished, in this process or in another one.

How a waiter hears of a finish depends on the store (`store.wakeups`):

- `local` (memory://): only this process writes it, so the worker's `notify()` is enough
  and a waiter reads the store once, plus once per wake-up.
- `publish` (redis://): `finish()` publishes the request id; one subscription per
  ResultWaiters (one per backend process, not one per waiter) wakes the local waiters.
  While that subscription is down, the waiters fall back to polling.
- `poll` (a sqlite file, which other processes may write without telling us): one poller
  per waited-on request id re-reads the store every `reread_s` and wakes all of that
  id's waiters at once, so 1,000 waiters on one request cost one read per period, not 1,000.

Under `learninngest up --workers N` the sibling processes also pass every finish on to
each other (`relay`, set by serving/backend_child.py), so a long-poll on another process than
the run's wakes at once, whatever the store.

The number of waiters per process is capped (`max_waiters`): past it, `watch()` raises
TooManyWaiters and the route answers 503 with Retry-After. A waiter whose client has gone
(`wake_when_gone`) is woken at once, so its slot is free again without waiting for its
deadline (up to 30 s): clients that give up and ask again do not fill the cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

from starlette.types import Receive

from learninngest.store.base import ResultStore, Wakeups

log = logging.getLogger("learninngest.api")
RESUBSCRIBE_S = 1.0
"""Pause between attempts to (re)subscribe to the store's finish channel."""


class TooManyWaiters(RuntimeError):
    """This process already holds `max_waiters` long-polls."""


class Waiter:
    """One long-poll's wake-up flag, set from any thread through its loop."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()
        self.client_gone = False

    def wake(self) -> None:
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is self.loop:
            self.event.set()  # on the waiter's own loop: no hand-off, one loop turn sooner
            return
        with contextlib.suppress(RuntimeError):  # that loop is already closed
            self.loop.call_soon_threadsafe(self.event.set)

    async def wait(self) -> None:
        """Until the next wake-up (the caller bounds it with its deadline)."""
        await self.event.wait()
        self.event.clear()

    def wake_when_gone(self, receive: Receive) -> asyncio.Task[None]:
        """A task that wakes this waiter with `client_gone` set when the request's client
        disconnects (ASGI's `http.disconnect`); the caller cancels it once it answers."""

        async def listen() -> None:
            try:
                while (await receive())["type"] != "http.disconnect":
                    pass  # the request's own (empty) body, replayed by serving/body_timeout.py
            except Exception:  # a receive that fails says nothing of the client: the deadline holds
                return
            self.client_gone = True
            self.event.set()

        return asyncio.create_task(listen(), name=f"result-waiters:client:{self.request_id}")


class ResultWaiters:
    def __init__(self, store: ResultStore, *, max_waiters: int = 300, reread_s: float = 0.5) -> None:
        self.store = store
        self.max_waiters = max_waiters
        self.reread_s = reread_s
        self._waiting: dict[str, set[Waiter]] = defaultdict(set)
        self._count = 0
        self._pollers: dict[str, asyncio.Task[None]] = {}
        self._listener: asyncio.Task[None] | None = None
        self.subscribed = False  # publish mode: the finish channel is being heard
        self.relay: Callable[[str], None] | None = None
        """Also tell these request ids to sibling processes (serving/backend_child.py), if set."""

    @property
    def wakeups(self) -> Wakeups:
        return getattr(self.store, "wakeups", Wakeups.poll)

    @property
    def count(self) -> int:
        return self._count

    # --- lifecycle (the backend's lifespan)
    async def start(self) -> None:
        if self.wakeups is Wakeups.publish and self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="result-waiters:listen")

    async def stop(self) -> None:
        tasks = [*self._pollers.values(), *([self._listener] if self._listener else [])]
        self._pollers.clear()
        self._listener = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- waking
    def notify(self, request_id: str) -> None:
        """Safe from any thread: wakes every waiter of `request_id`, here and in sibling processes."""
        self.notify_here(request_id)
        if self.relay is not None:
            self.relay(request_id)

    def notify_here(self, request_id: str) -> None:
        """Safe from any thread: wakes every waiter of `request_id` in this process."""
        for waiter in list(self._waiting.get(request_id, ())):
            waiter.wake()

    def notify_all(self) -> None:
        for waiters in list(self._waiting.values()):
            for waiter in list(waiters):
                waiter.wake()

    # --- waiting
    @contextlib.asynccontextmanager
    async def watch(self, request_id: str) -> AsyncIterator[Waiter]:
        """Register a waiter for `request_id` (before the caller reads the store, so no
        finish between that read and the wait is missed)."""
        if self._count >= self.max_waiters:
            raise TooManyWaiters(f"{self._count} long-polls are already waiting in this process")
        waiter = Waiter(request_id)
        self._waiting[request_id].add(waiter)
        self._count += 1
        if self.wakeups is not Wakeups.local and request_id not in self._pollers:
            self._pollers[request_id] = asyncio.create_task(
                self._poll(request_id), name=f"result-waiters:poll:{request_id}"
            )
        try:
            yield waiter
        finally:
            self._count -= 1
            waiters = self._waiting.get(request_id)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiting[request_id]
                    poller = self._pollers.pop(request_id, None)
                    if poller is not None:
                        poller.cancel()

    async def _poll(self, request_id: str) -> None:
        """Re-read one request every `reread_s` while anyone waits for it, and wake them all
        when it is final (or gone). In publish mode it only reads while unsubscribed."""
        while True:
            await asyncio.sleep(self.reread_s)
            if self.wakeups is Wakeups.publish and self.subscribed:
                continue
            try:
                record = await self.store.get(request_id)
            except Exception as exc:  # the store is down: the waiters time out as usual
                log.debug("long-poll re-read of %s failed: %s", request_id, exc)
                continue
            if record is None or record.final:
                self.notify_here(request_id)  # the others poll (or hear) for themselves

    async def _listen(self) -> None:
        """Publish mode: one subscription to the store's finish channel for this process."""
        while True:
            try:
                async for request_id in self.store.finished_ids(on_subscribed=self._on_subscribed):  # type: ignore[attr-defined]
                    self.notify_here(request_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.subscribed:
                    log.warning(
                        "lost the result store's finish channel (%s); long-polls poll until it is back", exc
                    )
            self.subscribed = False
            await asyncio.sleep(RESUBSCRIBE_S)

    def _on_subscribed(self) -> None:
        self.subscribed = True
        # A finish may have been published while we were not listening: everyone looks again.
        self.notify_all()
