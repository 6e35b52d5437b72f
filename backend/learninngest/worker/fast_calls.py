"""The engine's calls (POST /api/inngest) skip the FastAPI app's router and inner framework layers.

Three of the five requests a chat request brings are these calls. Through the whole app each
went through Starlette's ExceptionMiddleware (a handler lookup per request), FastAPI's
AsyncExitStack, the router and its route before it reached `ServedFunctions`, none of which
does anything for them: the route is an ASGI app with no dependencies, no exception handler
of ours applies to it, and nothing is left open to close.

`serve_calls_directly` puts a dispatcher where FastAPI keeps its middleware stack: inside
uvicorn's RequireHost and BodyTimeout (serving/limits.py) and inside `FastAPI.__call__`
(its root path and request telemetry). A POST to /api/inngest goes through the app's own
layers (serving/router_bypass.py: its 500 handler, body limit and middleware, read when the
stack is built, so every protection added in app.py applies by construction: SdkBodyGuard in
dev mode, SignatureWindow in production, ForwardedPrefix, trusted proxies, SecurityHeaders,
CORS), and then straight to `ServedFunctions`, which reads its current function list per request
(functions a notebook adds or removes are served at once). Syncs (PUT), inspection (GET)
and every other request take the full stack as before. What the fast path leaves out is
FastAPI's exception telemetry (OpenTelemetry, off unless configured): an exception in a
call still ends the request's span, but is not recorded on it as an exception event.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from learninngest.serving.router_bypass import layers_around, route_path


class CallsFirst:
    """ASGI: POST `path` to `calls`, everything else to `full` (the app's whole stack)."""

    def __init__(self, full: ASGIApp, calls: ASGIApp, path: str) -> None:
        self.full = full
        self.calls = calls
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and route_path(scope) == self.path:
            await self.calls(scope, receive, send)
        else:
            await self.full(scope, receive, send)


def serve_calls_directly(app: FastAPI, served: ASGIApp, path: str) -> None:
    """From the app's first request on, POST `path` reaches `served` through `CallsFirst`."""
    build_full: Callable[[], ASGIApp] = app.build_middleware_stack

    def build() -> ASGIApp:
        # Built when FastAPI builds its own stack (the first request, after every
        # add_middleware), so both see the same middleware list.
        return CallsFirst(build_full(), layers_around(app, served), path)

    app.build_middleware_stack = build  # type: ignore[method-assign]
