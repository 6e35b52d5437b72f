"""Realtime's HTTP routes, as the Dev Server serves them under /v1/realtime.

- POST /token: a list of topics in, `201 {"jwt": ...}` out (a minute's subscription token).
- POST /publish?channel=&topic=[&run_id=&metadata=]: the body becomes one `data` message
  (JSON as it is, other text as a JSON string; 200 with no body). With `content-type:
  text/stream` the body is streamed instead: `datastream-start` (data: a stream id), then
  `chunk`s of 1 KiB as they arrive, then `datastream-end` (streamed.py: a part at least
  every 30 s, 15 minutes in all, else 408).
- POST /publish/tee?channel=: raw bytes straight to the channel's `$stream` subscribers, as
  they arrive (the same bounds).
- GET /sse: the token's topics as server-sent events (`data: {json}`), keep-alive comments.
- GET /connect: the WebSocket (socket.py).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse, Response, StreamingResponse

from learninngest.engine.ids import UlidFactory, is_ulid
from learninngest.engine.realtime import token
from learninngest.engine.realtime.auth import RealtimeAuth
from learninngest.engine.realtime.broker import Broker, RawFrame, Subscription
from learninngest.engine.realtime.messages import (
    CHUNK_BYTES,
    DEV_ENV_ID,
    MAX_CHUNKS,
    MAX_MESSAGE_BYTES,
    BadTopic,
    Kind,
    Message,
    as_json_data,
    now_rfc3339,
    topic_from,
)
from learninngest.engine.realtime.socket import serve_socket
from learninngest.engine.realtime.streamed import StreamStalled, is_text_stream, parts

log = logging.getLogger("learninngest.engine")
SSE_KEEPALIVE_S = 15.0  # the broadcaster's KeepaliveInterval
SSE_TIMEOUT_S = 15 * 60.0  # SSEConnectionTimeout


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status, "data": None}, status)


def _stalled(exc: StreamStalled) -> JSONResponse:
    """408, and the connection closed: what is left of the body is not read."""
    log.warning("streamed publish cut off: %s", exc)
    response = _problem(408, f"{exc}; what arrived before was published")
    response.headers["connection"] = "close"
    return response


def build_router(broker: Broker, auth: RealtimeAuth, ids: UlidFactory) -> APIRouter:
    router = APIRouter(prefix="/v1/realtime")
    not_signed_in = "Not authenticated: send Authorization: Bearer <signing key>"

    @router.post("/token")
    async def create_token(request: Request) -> Response:
        if not auth.api_key_ok(request.headers):
            return _problem(401, not_signed_in)
        try:
            body = json.loads(await request.body())
            if not isinstance(body, list):
                raise BadTopic("not a list")
            topics = [topic_from(item, env_id=DEV_ENV_ID) for item in body]
        except (ValueError, BadTopic) as exc:
            return _problem(
                400,
                f"Invalid request: must provide a list of topics like "
                f'[{{"kind": "run", "channel": "...", "name": "..."}}] ({exc})',
            )
        return JSONResponse({"jwt": auth.subscribe_token(ids.new(), topics)}, 201)

    def publisher(request: Request) -> tuple[token.Claims | None, JSONResponse | None]:
        claims = auth.claims(request.headers, request.query_params)
        if claims is not None:
            if not claims.publish:
                return None, _problem(401, "Not authenticated for publishing: this token may only subscribe")
            return claims, None
        if not auth.api_key_ok(request.headers):
            return None, _problem(401, not_signed_in)
        return None, None

    def first(request: Request, name: str) -> str:
        # Go's Query().Get: the first value (inngest 4.x sends one `topic` per topic).
        values = request.query_params.getlist(name)
        return values[0] if values else ""

    def message_of(request: Request, kind: Kind, env_id: str) -> Message:
        run_id = first(request, "run_id")
        metadata = first(request, "metadata")
        return Message(
            kind=kind,
            data=b"null",
            channel=first(request, "channel"),
            topic=first(request, "topic"),
            env_id=env_id,
            created_at=now_rfc3339(),
            metadata=metadata.encode() if metadata and _is_json(metadata) else None,
            run_id=run_id if is_ulid(run_id) else "",
        )

    @router.post("/publish")
    async def publish(request: Request) -> Response:
        claims, denied = publisher(request)
        if denied is not None:
            return denied
        env_id = claims.env_id if claims else DEV_ENV_ID
        if is_text_stream(request.scope):
            try:
                await _publish_stream(request, broker, message_of(request, Kind.datastream_start, env_id))
            except StreamStalled as exc:
                return _stalled(exc)
            return Response(status_code=200)
        body = bytearray()
        async for part in request.stream():
            body += part[: MAX_MESSAGE_BYTES - len(body)]
            if len(body) >= MAX_MESSAGE_BYTES:
                break
        message = replace(message_of(request, Kind.data, env_id), data=as_json_data(bytes(body)))
        broker.publish(message)
        return Response(status_code=200)

    @router.post("/publish/tee")
    async def publish_tee(request: Request) -> Response:
        claims, denied = publisher(request)
        if denied is not None:
            return denied
        channel = first(request, "channel")
        if not channel:
            return _problem(400, "channel query parameter required")
        limit, total = MAX_CHUNKS * CHUNK_BYTES, 0
        env_id = claims.env_id if claims else DEV_ENV_ID
        # One decoder for the whole body: a character split between two parts stays whole.
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        try:
            async for part in parts(request):
                total += len(part)
                if total > limit:
                    return _problem(413, f"the body may be at most {limit} bytes")
                if text := decoder.decode(part):
                    broker.write(env_id, channel, text)
        except StreamStalled as exc:
            return _stalled(exc)
        finally:
            if rest := decoder.decode(b"", final=True):
                broker.write(env_id, channel, rest)
        return Response(status_code=200)

    @router.get("/sse")
    async def sse(request: Request) -> Response:
        claims = auth.claims(request.headers, request.query_params)
        if claims is None:
            return _problem(401, f"Not authenticated: {auth.why_not(request.headers, request.query_params)}")
        return StreamingResponse(
            _sse_frames(broker, claims),
            media_type="text/event-stream",
            # Any origin, as the server's sseHeaders: a browser follows a durable endpoint's
            # redirect here from the endpoint's own origin.
            headers={
                "cache-control": "no-cache",
                "x-accel-buffering": "no",
                "access-control-allow-origin": "*",
                "access-control-expose-headers": "Content-Type",
            },
        )

    @router.websocket("/connect")
    async def connect(ws: WebSocket) -> None:
        await serve_socket(ws, broker, auth)

    return router


async def _publish_stream(request: Request, broker: Broker, start: Message) -> None:
    """A `text/stream` body: start, its 1 KiB chunks as they come, and always an end."""
    stream_id = secrets.token_hex(8)
    start = replace(start, data=json.dumps(stream_id).encode())
    broker.publish(start)
    pending, chunks = b"", 0
    try:
        async for part in parts(request):
            pending += part
            while len(pending) >= CHUNK_BYTES and chunks < MAX_CHUNKS:
                broker.publish_chunk(start, stream_id, pending[:CHUNK_BYTES].decode("utf-8", "replace"))
                pending, chunks = pending[CHUNK_BYTES:], chunks + 1
            if chunks >= MAX_CHUNKS:
                break
    finally:  # what arrived is published, also when the stream stalled; and always an end
        if pending and chunks < MAX_CHUNKS:
            broker.publish_chunk(start, stream_id, pending.decode("utf-8", "replace"))
        broker.publish(replace(start, kind=Kind.datastream_end))


async def _sse_frames(broker: Broker, claims: token.Claims) -> AsyncIterator[str]:
    frames: asyncio.Queue[str] = asyncio.Queue()

    async def send(frame: str) -> None:
        frames.put_nowait(frame if isinstance(frame, RawFrame) else f"data: {frame}\n\n")

    sub = Subscription(secrets.token_hex(16), "sse", send)
    broker.subscribe(sub, claims.topics)
    loop = asyncio.get_running_loop()
    ends = loop.time() + SSE_TIMEOUT_S
    try:
        yield ":\n\n"  # the headers and a first comment go out at once: the client sees it is subscribed
        while loop.time() < ends and not sub.closed.is_set():
            try:
                async with asyncio.timeout(SSE_KEEPALIVE_S):
                    yield await frames.get()
            except TimeoutError:
                yield ":\n\n"
    finally:
        broker.drop(sub.id)
        sub.close()
        with contextlib.suppress(Exception):
            await sub.wait_sent()


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
