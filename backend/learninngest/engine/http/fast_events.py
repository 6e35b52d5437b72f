"""POST /e/{key} answered in front of the engine app's router, through the app's own layers.

One send per chat request, and each went through Starlette's ExceptionMiddleware, FastAPI's
AsyncExitStack, the router's walk of its routes and the route's dependency solving before
`EventApi` (events.py) did the work; none of them does anything for this route. As the
backend's calls do (worker/fast_calls.py), a dispatcher takes FastAPI's place for its
middleware stack: a POST whose path the router would match to /e/{key} goes through the app's
500 handler, body limit and middleware (serving/router_bypass.py: SecurityHeaders and the
dev-mode header today, whatever app.py adds later) straight to `EventApi`; every other
request takes the full stack. The FastAPI route stays, answering through the same `EventApi`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from learninngest.engine.http.events import SEED_HEADER, EventApi
from learninngest.serving.router_bypass import layers_around, route_path

# The route's path as the router compiles it: one segment of anything but "/".
_EVENT_PATH = re.compile(r"/e/([^/]+)")


class EventsFirst:
    """ASGI: POST /e/{key} to `events` (with the key as the route's path parameter), every
    other request to `full` (the app's whole stack)."""

    def __init__(self, full: ASGIApp, events: ASGIApp) -> None:
        self.full = full
        self.events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            match = _EVENT_PATH.fullmatch(route_path(scope))
            if match is not None:
                scope["path_params"] = {"key": match.group(1)}
                await self.events(scope, receive, send)
                return
        await self.full(scope, receive, send)


class EventRoute:
    """ASGI: the route's work, without the router (the same reading and answer as events.py's)."""

    def __init__(self, api: EventApi) -> None:
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        key: str = scope["path_params"]["key"]
        raw = await request.body() if self.api.accepts(key) else b""
        status, body = self.api.answer(key, raw, request.headers.get(SEED_HEADER))
        await JSONResponse(body, status)(scope, receive, send)


def serve_events_directly(app: FastAPI, api: EventApi) -> None:
    """From the app's first request on, POST /e/{key} reaches `api` through `EventsFirst`."""
    build_full: Callable[[], ASGIApp] = app.build_middleware_stack

    def build() -> ASGIApp:
        # Built when FastAPI builds its own stack (the first request, after every
        # add_middleware), so both see the same middleware list.
        return EventsFirst(build_full(), layers_around(app, EventRoute(api)))

    app.build_middleware_stack = build  # type: ignore[method-assign]
