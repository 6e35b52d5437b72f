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

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from learninngest.engine.http.events import EventApi
from learninngest.serving.router_bypass import bypass_router, route_path

# The route's path as the router compiles it: one segment of anything but "/".
_EVENT_PATH = re.compile(r"/e/([^/]+)")


def is_event_send(scope: Scope) -> bool:
    """A POST the router would match to /e/{key}; the key goes in the scope's path params."""
    if scope["method"] != "POST":
        return False
    match = _EVENT_PATH.fullmatch(route_path(scope))
    if match is None:
        return False
    scope["path_params"] = {"key": match.group(1)}
    return True


class EventRoute:
    """ASGI: the route's work, without the router (the same answer as events.py's route)."""

    def __init__(self, api: EventApi) -> None:
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.api.reply(scope["path_params"]["key"], Request(scope, receive))
        await response(scope, receive, send)


def serve_events_directly(app: FastAPI, api: EventApi) -> None:
    """From the app's first request on, POST /e/{key} reaches `api` in front of the router."""
    bypass_router(app, EventRoute(api), is_event_send)
