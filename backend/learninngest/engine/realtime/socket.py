"""The subscription socket, GET /v1/realtime/connect (what `@inngest/realtime` dials).

The token in the upgrade request names the first topics. After that the client may send
JSON messages: `{"kind": "sub", "data": "<jwt>"}` adds the topics of another token, and
`{"kind": "unsub", "data": [topic, ...]}` drops topics. Nothing is acknowledged (the server
answers neither), unknown or binary frames are ignored, and every published message comes
as one text frame. When the engine stops, the socket closes with the reason "closing".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from learninngest.engine.realtime import token
from learninngest.engine.realtime.auth import RealtimeAuth
from learninngest.engine.realtime.broker import Broker, Subscription
from learninngest.engine.realtime.messages import BadTopic, Kind, topic_from

log = logging.getLogger("learninngest.engine")
GOING_AWAY = 1001


async def serve_socket(ws: WebSocket, broker: Broker, auth: RealtimeAuth) -> None:
    claims = auth.claims(ws.headers, ws.query_params)
    if claims is None:
        # Refused before the upgrade with a 401, as there; a server without the denial
        # extension answers the close with a 403 instead.
        why = f"Not authenticated: {auth.why_not(ws.headers, ws.query_params)}"
        if "websocket.http.response" in ws.scope.get("extensions", {}):
            await ws.send_denial_response(JSONResponse({"error": why, "status": 401, "data": None}, 401))
        else:
            await ws.close(code=1008, reason=why[:120])
        return
    await ws.accept()
    sub = Subscription(uuid.uuid4().hex, "ws", ws.send_text)
    broker.subscribe(sub, claims.topics)
    log.info(
        "realtime socket %s opened: %s",
        sub.id,
        ", ".join(f"{t.channel}/{t.name}" for t in claims.topics) or "no topics",
    )
    reader = asyncio.create_task(_read(ws, sub, broker, auth))
    closer = asyncio.create_task(sub.closed.wait())
    try:
        await asyncio.wait({reader, closer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        broker.drop(sub.id)
        sub.close()
        for task in (reader, closer):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):  # already gone when the client closed it
            await ws.close(code=GOING_AWAY, reason=str(Kind.closing))
        log.info("realtime socket %s closed", sub.id)


async def _read(ws: WebSocket, sub: Subscription, broker: Broker, auth: RealtimeAuth) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            frame = await ws.receive()
            if frame["type"] == "websocket.disconnect":
                return
            text = frame.get("text")
            if text is None:
                continue  # binary frames carry nothing in realtime
            _handle(text, sub, broker, auth)


def _handle(text: str, sub: Subscription, broker: Broker, auth: RealtimeAuth) -> None:
    try:
        message = json.loads(text)
        kind = message.get("kind")
    except (ValueError, AttributeError):
        log.warning("realtime socket %s: unknown message ignored", sub.id)
        return
    if kind == Kind.sub:
        jwt = message.get("data")
        if not isinstance(jwt, str):
            log.warning("realtime socket %s: a sub message's data must be a token", sub.id)
            return
        try:
            claims = token.check(auth.secret, jwt, now=auth.clock.now())
        except token.BadToken as exc:
            log.warning("realtime socket %s: sub refused (%s)", sub.id, exc)
            return
        broker.subscribe(sub, claims.topics)
    elif kind == Kind.unsub:
        try:
            topics = [topic_from(t) for t in message.get("data") or []]
        except (BadTopic, TypeError):
            log.warning("realtime socket %s: an unsub message's data must be a list of topics", sub.id)
            return
        broker.unsubscribe(sub.id, topics)
