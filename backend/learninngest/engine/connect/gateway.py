"""The gateway: one WebSocket per connect worker, speaking the SDK's protobuf messages.

The handshake, as the real gateway does it (`pkg/connect/gateway.go`): the gateway says
GATEWAY_HELLO; the worker answers WORKER_CONNECT (its session token from /v0/connect/start,
its instance id and its apps with their function configs); the gateway syncs those apps
(like POST /fn/register, with the URL `ws://connect?app_name=…`) and says
GATEWAY_CONNECTION_READY with the heartbeat and lease-extension intervals. Then:

- WORKER_HEARTBEAT: answered with GATEWAY_HEARTBEAT; MISSED_HEARTBEATS missed in a row
  close the socket;
- WORKER_READY (workers that ack readiness themselves) / WORKER_PAUSE (shutting down:
  no new calls, the ones it holds go on);
- WORKER_REQUEST_ACK, WORKER_REPLY (answered with WORKER_REPLY_ACK) and
  WORKER_REQUEST_EXTEND_LEASE (answered with the new lease id, or none when the lease is
  gone) go to the router;
- when the engine stops, GATEWAY_CLOSING tells every worker to connect again elsewhere.

A refused handshake closes the socket with 1008 and a reason the SDK logs. A sync the
registry refuses (an invalid function config) is first told in a SYNC_FAILED message, a
SystemError with a code and the registry's message, as the real gateway passes on the sync
API's error (a config that is not JSON at all is only refused: the real gateway fails it
before the sync, as an internal error).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.websockets import WebSocket, WebSocketDisconnect

from learninngest.engine.connect.router import ConnectRouter, extend_interval_s
from learninngest.engine.connect.workers import Worker
from learninngest.engine.ids import is_ulid
from learninngest.lazy_module import lazy_module

if TYPE_CHECKING:
    from learninngest.engine.connect import codec
    from learninngest.engine.settings import EngineSettings
    from learninngest.engine.sync.registry import Registry
else:  # protobuf and inngest-py's connect load with the first connect worker
    codec = lazy_module("learninngest.engine.connect.codec")

log = logging.getLogger("learninngest.engine")

HELLO_TIMEOUT_S = 5.0  # the worker's WORKER_CONNECT must follow the hello within this
MISSED_HEARTBEATS = 5  # heartbeats missed in a row before the gateway closes the socket
SESSION_TOKEN_TTL_S = 300.0  # a token from /v0/connect/start is good for one handshake this long
POLICY_VIOLATION = 1008
_MAX_REASON = 120  # WebSocket close reasons are at most 123 bytes
# The real server's code (pkg/syscode) for a config it will not register.
CONFIG_INVALID = "config_invalid"


class Refused(Exception):
    """The handshake is refused; the message is the close reason."""


class SyncFailed(Refused):
    """The registry refused an app of the worker: SYNC_FAILED (`code`, `detail`), then the
    close, whose reason is the message (the Python SDK reads only the close)."""

    def __init__(self, code: str, detail: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail


class Gateway:
    def __init__(self, settings: EngineSettings, registry: Registry, router: ConnectRouter) -> None:
        self.settings = settings
        self.registry = registry
        self.router = router
        self._tokens: dict[str, float] = {}

    # --- POST /v0/connect/start hands these out
    def issue_token(self) -> str:
        now = time.monotonic()
        self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
        token = secrets.token_urlsafe(24)
        self._tokens[token] = now + SESSION_TOKEN_TTL_S
        return token

    def endpoint(self, request_host: str) -> str:
        """The socket's URL for a worker that reached the engine as `request_host`: the same
        host, and the gateway's own port when it has one (the Dev Server's port + 1)."""
        port = self.settings.connect_gateway_port
        if port:
            return f"ws://{request_host.rsplit(':', 1)[0]}:{port}/v0/connect"
        return f"ws://{request_host}/v0/connect"

    # --- one worker's socket
    async def serve(self, ws: WebSocket) -> None:
        offered = ws.scope.get("subprotocols") or []
        await ws.accept(subprotocol=codec.SUBPROTOCOL if codec.SUBPROTOCOL in offered else None)
        lock = asyncio.Lock()

        async def send(data: bytes) -> None:
            async with lock:  # one frame at a time: the router and this loop both send
                await ws.send_bytes(data)

        worker: Worker | None = None
        try:
            await send(codec.encode(codec.Kind.GATEWAY_HELLO))
            try:
                worker = await asyncio.wait_for(self._handshake(ws, send), HELLO_TIMEOUT_S)
            except TimeoutError:
                raise Refused("Timeout waiting for worker SDK connect message") from None
            await self._loop(ws, send, worker)
        except Refused as exc:
            log.warning("connect handshake refused: %s", exc)
            if isinstance(exc, SyncFailed):
                error = codec.SystemErrorData(code=exc.code, message=exc.detail)
                with contextlib.suppress(Exception):
                    await send(codec.encode(codec.Kind.SYNC_FAILED, error))
            with contextlib.suppress(Exception):
                await ws.close(POLICY_VIOLATION, str(exc).encode()[:_MAX_REASON].decode(errors="ignore"))
        except (WebSocketDisconnect, OSError, RuntimeError) as exc:
            # The worker went away; sending on a socket that just closed raises OSError
            # (uvicorn's ClientDisconnected) or Starlette's RuntimeError.
            log.debug("connect socket ended: %s", exc or type(exc).__name__)
        finally:
            if worker is not None:
                self.router.workers.remove(worker.conn_id)
                log.info(
                    "connect worker disconnected conn_id=%s instance=%s (%d calls in flight)",
                    worker.conn_id,
                    worker.instance_id,
                    len(worker.inflight),
                )

    async def _handshake(self, ws: WebSocket, send: Any) -> Worker:
        kind, payload = await _receive(ws)
        while kind == codec.Kind.WORKER_HEARTBEAT:
            # The SDK's heartbeat timer may tick on a new socket before its connect message
            # (the real gateway refuses the socket then; the SDK only reconnects).
            kind, payload = await _receive(ws)
        if kind != codec.Kind.WORKER_CONNECT:
            raise Refused("Invalid first message, expected sdk-connect")
        try:
            data = codec.parse(codec.WorkerConnectRequestData, payload)
        except codec.BadMessage:
            raise Refused("Invalid Protobuf in SDK connect message") from None
        if not is_ulid(data.connection_id):
            raise Refused("Invalid connection ID in SDK connect message")
        if not data.instance_id:
            raise Refused("Missing instanceId in SDK connect message")
        if self._tokens.pop(data.auth_data.session_token, 0.0) <= time.monotonic():
            raise Refused("Authentication failed: session token unknown or expired; call /v0/connect/start")
        if not data.apps:
            raise Refused("Missing apps in SDK connect message")
        for app in data.apps:
            self._sync(data, app)
        limit = data.max_worker_concurrency if data.HasField("max_worker_concurrency") else 0
        worker = Worker(
            conn_id=data.connection_id,
            instance_id=data.instance_id,
            apps={app.app_name for app in data.apps},
            send=send,
            max_concurrency=limit if limit > 0 else None,
            sdk_language=data.sdk_language,
            sdk_version=data.sdk_version,
            last_heartbeat=time.time(),
        )
        ready = codec.GatewayConnectionReadyData(
            heartbeat_interval=f"{int(self.settings.connect_heartbeat_s)}s",
            extend_lease_interval=f"{extend_interval_s(self.settings.connect_lease_s)}s",
        )
        self.router.workers.add(worker)
        await send(codec.encode(codec.Kind.GATEWAY_CONNECTION_READY, ready))
        if not data.worker_manual_readiness_ack:
            worker.ready = True
            self.router.workers.changed()
        log.info(
            "connect worker connected conn_id=%s instance=%s apps=%s sdk=%s:%s",
            worker.conn_id,
            worker.instance_id,
            ",".join(sorted(worker.apps)),
            data.sdk_language,
            data.sdk_version,
        )
        return worker

    def _sync(self, data: Any, app: Any) -> None:
        """Register one app of the worker, as the real gateway's out-of-band sync does."""
        try:
            functions = json.loads(bytes(app.functions) or b"[]")
            capabilities = json.loads(bytes(data.capabilities) or b"{}")
        except ValueError:
            raise Refused(f"Invalid function config of app {app.app_name}") from None
        body = {
            "v": "1",
            "url": f"ws://connect?app_name={quote(app.app_name)}",
            "deployType": "connect",
            "framework": data.framework or "connect",
            "sdk": f"{data.sdk_language}:{data.sdk_version}",
            "appName": app.app_name,
            "appVersion": app.app_version if app.HasField("app_version") else "",
            "capabilities": capabilities,
            "functions": functions,
        }
        status, reply = self.registry.register(body, None)
        if status != 200:
            detail = str(reply.get("error", status))
            message = f"sync of app {app.app_name} failed: {detail}"
            raise SyncFailed(str(reply.get("code") or CONFIG_INVALID), detail, message)

    async def _loop(self, ws: WebSocket, send: Any, worker: Worker) -> None:
        hb = max(1.0, self.settings.connect_heartbeat_s)
        last_heartbeat = time.monotonic()
        while True:
            left = last_heartbeat + MISSED_HEARTBEATS * hb - time.monotonic()
            try:
                kind, payload = await asyncio.wait_for(_receive(ws), max(0.0, left))
            except TimeoutError:
                log.warning(
                    "connect worker conn_id=%s missed %d heartbeats; closing",
                    worker.conn_id,
                    MISSED_HEARTBEATS,
                )
                await ws.close(POLICY_VIOLATION, "CONSECUTIVE_HEARTBEATS_MISSED")
                return
            if kind == codec.Kind.WORKER_HEARTBEAT:
                last_heartbeat = time.monotonic()
                worker.last_heartbeat = time.time()
                await send(codec.encode(codec.Kind.GATEWAY_HEARTBEAT))
            elif kind == codec.Kind.WORKER_READY:
                worker.ready = True
                self.router.workers.changed()
            elif kind == codec.Kind.WORKER_PAUSE:
                worker.draining = True
                log.info("connect worker conn_id=%s paused (draining)", worker.conn_id)
            elif kind == codec.Kind.WORKER_REQUEST_ACK:
                self.router.acked(codec.parse(codec.WorkerRequestAckData, payload).request_id, worker.conn_id)
            elif kind == codec.Kind.WORKER_REPLY:
                reply = codec.parse(codec.SDKResponse, payload)
                if not self.router.deliver(reply):
                    log.info(
                        "connect reply for request_id=%s came after its call ended; dropped", reply.request_id
                    )
                ack = codec.WorkerReplyAckData(request_id=reply.request_id)
                await send(codec.encode(codec.Kind.WORKER_REPLY_ACK, ack))
            elif kind == codec.Kind.WORKER_REQUEST_EXTEND_LEASE:
                req = codec.parse(codec.WorkerRequestExtendLeaseData, payload)
                new = self.router.extend(req.request_id, req.lease_id)
                ack = codec.WorkerRequestExtendLeaseAckData(
                    request_id=req.request_id,
                    account_id=req.account_id,
                    env_id=req.env_id,
                    app_id=req.app_id,
                    function_slug=req.function_slug,
                    new_lease_id=new,
                )
                await send(codec.encode(codec.Kind.WORKER_REQUEST_EXTEND_LEASE_ACK, ack))
            else:
                log.warning(
                    "connect worker conn_id=%s sent unexpected %s", worker.conn_id, codec.kind_name(kind)
                )

    async def drain(self) -> None:
        """The engine stops: tell every worker to go (the SDK then reconnects)."""
        for worker in self.router.workers.all():
            with contextlib.suppress(Exception):
                await worker.send(codec.encode(codec.Kind.GATEWAY_CLOSING))


async def _receive(ws: WebSocket) -> tuple[int, bytes]:
    """The next frame's kind and payload (WebSocketDisconnect when the socket closed)."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    raw = message.get("bytes")
    if raw is None:
        raw = (message.get("text") or "").encode()
    try:
        frame = codec.parse(codec.ConnectMessage, raw)
    except codec.BadMessage as exc:
        raise Refused(str(exc)) from None
    return int(frame.kind), bytes(frame.payload)
