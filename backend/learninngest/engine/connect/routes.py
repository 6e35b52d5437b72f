"""HTTP side of connect: POST /v0/connect/start, POST /v0/connect/flush, and the socket route.

start: a worker asks where to connect; the answer (protobuf StartResponse) names the
gateway's socket, a connection id and a one-time session token. flush: a worker hands in a
reply it could not deliver over the socket (it was cut off before the reply's ack). Both
want the signing key's bearer when the engine has a signing key, as Inngest Cloud does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse, Response

from learninngest.engine.connect.gateway import Gateway
from learninngest.engine.wire import signing
from learninngest.lazy_module import lazy_module

if TYPE_CHECKING:
    from learninngest.engine.connect import codec
    from learninngest.engine.ids import UlidFactory
    from learninngest.engine.sync.registry import Registry
else:  # protobuf and inngest-py's connect load with the first connect worker
    codec = lazy_module("learninngest.engine.connect.codec")

log = logging.getLogger("learninngest.engine")
MAX_START_BODY = 1024 * 1024
PROTOBUF = "application/octet-stream"


def build_router(gateway: Gateway, registry: Registry, ids: UlidFactory) -> APIRouter:
    router = APIRouter()

    def refused(request: Request) -> JSONResponse | None:
        if not gateway.settings.signed:
            return None
        if signing.check_bearer(request.headers.get("authorization"), registry.keys()):
            return None
        return JSONResponse(
            {"error": "authentication failed: send the app's signing key (the SDK does so in cloud mode)"},
            401,
        )

    @router.post("/v0/connect/start")
    async def start(request: Request) -> Response:
        if (denied := refused(request)) is not None:
            return denied
        body = await request.body()
        if len(body) > MAX_START_BODY:
            return JSONResponse({"error": "start request too large"}, 413)
        try:
            ask = codec.parse(codec.StartRequest, body)
        except codec.BadMessage:
            return JSONResponse({"error": "could not read the start request (a protobuf StartRequest)"}, 400)
        host = request.headers.get("host") or f"{gateway.settings.host}:{gateway.settings.port}"
        bearer = (request.headers.get("authorization") or "")[7:]
        reply = codec.StartResponse(
            connection_id=ids.new(),
            gateway_endpoint=gateway.endpoint(host),
            gateway_group="gw-dev",
            session_token=gateway.issue_token(),
            sync_token=bearer,
        )
        log.debug(
            "connect start: gateway %s (excluded: %s)", reply.gateway_endpoint, list(ask.exclude_gateways)
        )
        return Response(reply.SerializeToString(), media_type=PROTOBUF)

    @router.post("/v0/connect/flush")
    async def flush(request: Request) -> Response:
        if (denied := refused(request)) is not None:
            return denied
        body = await request.body()
        if not body:
            return JSONResponse({"error": "missing request body (a protobuf SDKResponse)"}, 400)
        try:
            reply = codec.parse(codec.SDKResponse, body)
        except codec.BadMessage:
            return JSONResponse({"error": "could not read the flushed reply (a protobuf SDKResponse)"}, 400)
        delivered = gateway.router.deliver(reply)
        log.info(
            "connect reply flushed request_id=%s (%s)",
            reply.request_id,
            "delivered" if delivered else "no call waits for it any more",
        )
        return Response(
            codec.FlushResponse(request_id=reply.request_id).SerializeToString(), media_type=PROTOBUF
        )

    @router.get("/v0/connect/envs/{env_id}/conns")
    async def conns(request: Request, env_id: str, app_id: str | None = None) -> Response:
        """The connected workers (all, or those of one app), as the Dev Server lists them."""
        if (denied := refused(request)) is not None:
            return denied
        workers = gateway.router.workers.all()
        if app_id is not None:
            workers = [w for w in workers if app_id in w.apps]
        return JSONResponse({"data": [w.metadata() for w in workers]})

    @router.websocket("/v0/connect")
    async def socket(ws: WebSocket) -> None:
        await gateway.serve(ws)

    return router
