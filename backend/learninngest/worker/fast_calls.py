"""The engine's calls (POST /api/inngest) skip the FastAPI app's router and inner framework layers.

Three of the five requests a chat request brings are these calls. Through the whole app each
went through Starlette's ExceptionMiddleware (a handler lookup per request), FastAPI's
AsyncExitStack, the router and its route before it reached `ServedFunctions`, none of which
does anything for them: the route is an ASGI app with no dependencies, no exception handler
of ours applies to it, and nothing is left open to close.

`serve_calls_directly` puts a dispatcher (serving/router_bypass.py) where FastAPI keeps its
middleware stack: inside uvicorn's RequireHost and BodyTimeout (serving/limits.py) and inside
`FastAPI.__call__` (its root path and request telemetry). A POST to /api/inngest goes through the app's own
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

from fastapi import FastAPI
from starlette.types import ASGIApp, Scope

from learninngest.serving.router_bypass import Takes, bypass_router, route_path


def calls_to(path: str) -> Takes:
    """The engine's calls: a POST whose route path is `path`."""

    def takes(scope: Scope) -> bool:
        return scope["method"] == "POST" and route_path(scope) == path

    return takes


def serve_calls_directly(app: FastAPI, served: ASGIApp, path: str) -> None:
    """From the app's first request on, POST `path` reaches `served` in front of the router."""
    bypass_router(app, served, calls_to(path))
