"""Test helper for the fast paths that answer a route in front of FastAPI's router
(serving/router_bypass.py's RouteFirst, for worker/fast_calls.py and engine/http/fast_events.py):
the same app as it was before, every request through its full stack and router, to compare them."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from learninngest.serving.router_bypass import RouteFirst, Takes


def through_router(app: FastAPI) -> ASGIApp:
    """`app` without its fast path (the dispatcher it builds in front of its stack)."""
    stack = app.build_middleware_stack()
    assert isinstance(stack, RouteFirst)
    full: ASGIApp = stack.full

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app  # as FastAPI.__call__ does
        await full(scope, receive, send)

    return asgi


def taken_by(takes: Takes, scope: Scope) -> tuple[str, Any]:
    """Where a `RouteFirst` with `takes` sends `scope`: ("fast" or "full", its path params)."""
    taken: list[tuple[str, Any]] = []

    def app(name: str) -> ASGIApp:
        async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
            taken.append((name, scope.get("path_params")))

        return asgi

    async def nothing() -> Any:
        return {}

    asyncio.run(RouteFirst(app("full"), app("fast"), takes)(scope, nothing, nothing))
    assert len(taken) == 1
    return taken[0]
