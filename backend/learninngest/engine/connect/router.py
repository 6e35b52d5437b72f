"""The run loop's calls to connected apps: pick a worker, send the request, wait for the reply.

`ConnectRouter.call(url, body)` is the connect twin of an HTTP POST to /api/inngest (the
executor hands it the calls whose function URL is `ws(s)://connect…`). As on the real
server (`pkg/connect/grpc/proxy.go`):

- the call takes a lease and goes to the least busy worker of its app that takes calls; a
  worker that does not acknowledge it (its socket closed, or no ack within a lease) is
  left out and the next one gets it, up to FORWARD_ATTEMPTS;
- then the call waits for the reply, from the socket or from POST /v0/connect/flush;
- the worker extends the lease while it works; when it stops (killed, or cut off for longer
  than the lease), the call fails with `ConnectWorkerStoppedResponding` after a grace
  period, and the run retries it like any failed call: on another worker, or on the same
  one once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from learninngest.engine.connect.leases import Leases
from learninngest.engine.connect.workers import Worker, Workers
from learninngest.engine.ids import UlidFactory
from learninngest.engine.wire import protocol
from learninngest.lazy_module import lazy_module

if TYPE_CHECKING:
    from learninngest.engine.connect import codec
    from learninngest.engine.settings import EngineSettings
    from learninngest.engine.sync.registry import Registry
else:  # protobuf and inngest-py's connect load with the first connect worker
    codec = lazy_module("learninngest.engine.connect.codec")

log = logging.getLogger("learninngest.engine")

# The Dev Server's fixed tenant (pkg/consts/devserver.go): every connect message carries it.
ACCOUNT_ID = "00000000-0000-4000-a000-000000000000"
ENV_ID = "00000000-0000-4000-b000-000000000000"
FORWARD_ATTEMPTS = 3
GRACE_S = 5.0  # after a lease ran out, a reply still on its way is waited for this long


def is_connect_url(url: str) -> bool:
    """A function synced by a connect worker (its URL is `ws(s)://connect?...`)."""
    return url.startswith(("ws://", "wss://"))


def extend_interval_s(lease_s: float) -> int:
    """How often a worker extends its leases: a quarter of the lease, whole seconds (the
    SDK only reads `<n>s`), at least one."""
    return max(1, int(lease_s / 4))


@dataclass
class _Pending:
    request_id: str
    reply: asyncio.Future[Any]
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    worker: Worker | None = None


class ConnectRouter:
    def __init__(self, settings: EngineSettings, registry: Registry, ids: UlidFactory) -> None:
        self.settings = settings
        self.registry = registry
        self.ids = ids
        self.workers = Workers()
        self.leases = Leases(settings.connect_lease_s, ids.new)
        self._pending: dict[str, _Pending] = {}

    @property
    def grace_s(self) -> float:
        return min(GRACE_S, float(extend_interval_s(self.settings.connect_lease_s)))

    # --- the executor's side
    async def call(self, url: str, body: bytes, generation: int | None = None) -> protocol.Outcome:
        # `generation` goes in the body's ctx.generation_id only: a connect request has no
        # headers, and the SDK reads the generation from a header, so a connect worker's
        # checkpoints carry none (run/dispatches.py).
        query = dict(parse_qsl(urlsplit(url).query))
        slug, step = query.get("fnId", ""), query.get("stepId", "step")
        fn = self.registry.get(slug)
        if fn is None:
            return protocol.CallFailed(
                protocol.error_object(
                    "ConnectUnknownFunction", f"function {slug!r} is not synced (re-sync its app?)"
                )
            )
        loop = asyncio.get_running_loop()
        pending = _Pending(self.ids.new(), loop.create_future())
        self._pending[pending.request_id] = pending
        data = codec.GatewayExecutorRequestData(
            request_id=pending.request_id,
            account_id=ACCOUNT_ID,
            env_id=ENV_ID,
            app_id=self.registry.state.app_uuid_of(slug),
            app_name=fn.app_id,
            function_id=fn.uuid,
            function_slug=slug,
            step_id=step,
            request_payload=body,
            system_trace_ctx=b"{}",
            user_trace_ctx=b"{}",
            run_id=_run_id(body),
            job_id=pending.request_id,
        )
        forward: asyncio.Future[Worker | None] | None = None
        try:
            # A worker cut off before its ack got through still ran the call and flushes the
            # reply (POST /v0/connect/flush) while this call looks for another worker: take it.
            forward = asyncio.ensure_future(self._forward(pending, data, fn.app_id))
            await asyncio.wait({forward, pending.reply}, return_when=asyncio.FIRST_COMPLETED)
            if pending.reply.done() and not forward.done():
                forward.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await forward
                log.info("connect request_id=%s: reply flushed while routing it again", pending.request_id)
                return codec.reply_outcome(pending.reply.result())
            worker = forward.result()
            if worker is None:
                return protocol.CallFailed(
                    protocol.error_object(
                        "ConnectNoHealthyConnection",
                        f"no connected worker of app {fn.app_id} took the call within "
                        f"{self.settings.connect_wait_s:g}s; start one with inngest.connect.connect(...)",
                    )
                )
            return await self._reply(pending, worker)
        finally:
            if forward is not None and not forward.done():  # this call was cancelled meanwhile
                forward.cancel()
            self._pending.pop(pending.request_id, None)
            self.leases.release(pending.request_id)
            if pending.worker is not None:
                pending.worker.inflight.discard(pending.request_id)
                self.workers.changed()

    async def _forward(self, pending: _Pending, data: Any, app: str) -> Worker | None:
        """Send the request to a worker that acknowledges it; None when none did."""
        loop = asyncio.get_running_loop()
        tried: set[str] = set()
        for _ in range(FORWARD_ATTEMPTS):
            worker = await self.workers.wait_pick(app, tried, self.settings.connect_wait_s)
            if worker is None:
                return None
            tried.add(worker.conn_id)
            pending.worker = worker
            pending.acked.clear()
            worker.inflight.add(pending.request_id)
            # A fresh lease per worker: the one left out can no longer extend the old one.
            data.lease_id = self.leases.grant(pending.request_id, loop.time())
            try:
                await worker.send(codec.encode(codec.Kind.GATEWAY_EXECUTOR_REQUEST, data))
                if await _first(pending.acked, worker.closed, self.settings.connect_lease_s) is pending.acked:
                    log.debug("connect request_id=%s acked by conn_id=%s", pending.request_id, worker.conn_id)
                    return worker
            except Exception as exc:  # the socket broke while sending: try the next worker
                log.info(
                    "connect request_id=%s not sent to conn_id=%s: %s",
                    pending.request_id,
                    worker.conn_id,
                    exc,
                )
            worker.inflight.discard(pending.request_id)
            pending.worker = None
            log.info(
                "connect request_id=%s not acked by conn_id=%s; routing it again",
                pending.request_id,
                worker.conn_id,
            )
        return None

    async def _reply(self, pending: _Pending, worker: Worker) -> protocol.Outcome:
        """Wait for the reply while the lease holds (and at most call_timeout_s)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.call_timeout_s
        check_s = float(extend_interval_s(self.settings.connect_lease_s))
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return protocol.CallFailed(
                    protocol.error_object(
                        "CallTimeout",
                        f"no reply from connect worker {worker.instance_id} "
                        f"within {self.settings.call_timeout_s:g}s",
                    )
                )
            with contextlib.suppress(TimeoutError):
                reply = await asyncio.wait_for(asyncio.shield(pending.reply), min(check_s, left))
                return codec.reply_outcome(reply)
            if not self.leases.held(pending.request_id, loop.time()):
                with contextlib.suppress(TimeoutError):
                    reply = await asyncio.wait_for(asyncio.shield(pending.reply), self.grace_s)
                    return codec.reply_outcome(reply)
                log.warning(
                    "connect request_id=%s: worker %s stopped extending its lease; the call failed",
                    pending.request_id,
                    worker.instance_id,
                )
                return protocol.CallFailed(
                    protocol.error_object(
                        "ConnectWorkerStoppedResponding",
                        f"the connect worker {worker.instance_id} stopped responding to the request "
                        f"(its {self.settings.connect_lease_s:g}s lease was not extended)",
                    )
                )

    # --- the gateway's and the flush route's side
    def acked(self, request_id: str, conn_id: str) -> None:
        pending = self._pending.get(request_id)
        if pending is not None and pending.worker is not None and pending.worker.conn_id == conn_id:
            pending.acked.set()

    def deliver(self, reply: Any) -> bool:
        """A worker's SDKResponse (socket or flush); False when no call waits for it any more."""
        pending = self._pending.get(reply.request_id)
        if pending is None or pending.reply.done():
            return False
        pending.reply.set_result(reply)
        return True

    def extend(self, request_id: str, lease_id: str) -> str | None:
        return self.leases.extend(request_id, lease_id, asyncio.get_running_loop().time())


async def _first(a: asyncio.Event, b: asyncio.Event, timeout_s: float) -> asyncio.Event | None:
    """Whichever event is set first (a when both are), or None after `timeout_s`."""
    waits = {asyncio.ensure_future(a.wait()): a, asyncio.ensure_future(b.wait()): b}
    try:
        await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
    return a if a.is_set() else b if b.is_set() else None


def _run_id(body: bytes) -> str:
    try:
        ctx = json.loads(body).get("ctx") or {}
    except (ValueError, AttributeError):
        return ""
    return str(ctx.get("run_id") or "")
