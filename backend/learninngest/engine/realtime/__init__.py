"""Realtime: functions publish messages, browsers (or any client) subscribe to them live.

The room, from the bottom up:
- `messages` (pure): topics, messages and chunks in the server's JSON shape.
- `token` (pure): the HS256 subscription and publishing JWTs, made and checked.
- `broker`: who listens to which topic; fans each message out, in order, keeping nothing.
- `auth`: a JWT's claims, or the ordinary API auth (signing key in cloud mode).
- `socket`: the /v1/realtime/connect WebSocket (sub / unsub messages).
- `routes`: POST /v1/realtime/token, /publish, /publish/tee, GET /sse and the socket.

Entry point: `Realtime(signing_key, keys, clock, ids)`; the engine mounts `routes()` and
closes it when it stops (subscribers see their socket close with "closing").
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from learninngest.engine.clock import Clock
from learninngest.engine.ids import UlidFactory
from learninngest.engine.realtime.auth import RealtimeAuth
from learninngest.engine.realtime.broker import Broker
from learninngest.engine.realtime.messages import DEV_ENV_ID, STREAM_TOPIC, Topic, TopicKind
from learninngest.engine.realtime.routes import SSE_TIMEOUT_S, build_router

__all__ = ["Realtime"]


class Realtime:
    def __init__(
        self, signing_key: str | None, keys: Callable[[], list[str]], clock: Clock, ids: UlidFactory
    ) -> None:
        self.broker = Broker()
        self.auth = RealtimeAuth(signing_key, keys, clock)
        self.ids = ids

    def routes(self) -> APIRouter:
        return build_router(self.broker, self.auth, self.ids)

    def stream_token(self, run_id: str) -> str:
        """A durable endpoint's `realtime_token`, as the server makes it: subscribe to the run's
        `$stream` topic (what its tee writes), for as long as such a stream may last and a
        minute more; its caller follows the endpoint's redirect to /v1/realtime/sse with it."""
        topic = Topic(run_id, STREAM_TOPIC, TopicKind.run, DEV_ENV_ID)
        return self.auth.subscribe_token(self.ids.new(), [topic], expiry_s=SSE_TIMEOUT_S + 60)

    async def stop(self) -> None:
        await self.broker.close()
