"""Test helper for the fast paths that answer a route in front of FastAPI's router
(worker/fast_calls.py's CallsFirst, engine/http/fast_events.py's EventsFirst): the same app
as it was before, every request through its full stack and router, to compare them."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send


def through_router(app: FastAPI, first: type) -> ASGIApp:
    """`app` without its fast path (`first`, the dispatcher it builds in front of its stack)."""
    stack = app.build_middleware_stack()
    assert isinstance(stack, first)
    full: ASGIApp = stack.full

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app  # as FastAPI.__call__ does
        await full(scope, receive, send)

    return asgi
