"""A fast path in front of a FastAPI app's router, inside the app's own layers.

`bypass_router` puts a dispatcher (`RouteFirst`) where FastAPI keeps its middleware stack:
the requests a fast path takes (worker/fast_calls.py: the backend's POST /api/inngest;
engine/http/fast_events.py: the engine's POST /e/{key}) go to its ASGI app, every other
request to the app's whole stack. A request that skips the router must keep every
protection the app has. `layers_around` builds, from the app as it is when FastAPI builds its
own stack (its first request, after every add_middleware):

- Starlette's ServerErrorMiddleware with the app's own 500 handler and debug flag (the same
  500, logged the same way, when the inner app raises);
- the app's body size limit, when one is set (`FastAPI(max_body_size=...)`);
- the app's own middleware, the same list in the same order.

What a fast path leaves out is Starlette's ExceptionMiddleware (no handler of the app's
applies to the inner app), FastAPI's AsyncExitStack and its exception telemetry.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

# Whether an HTTP request is the fast path's; it may note in the scope what it found there
# (the route's path parameters), as the router would.
Takes = Callable[[Scope], bool]


class RouteFirst:
    """ASGI: an HTTP request `takes` says is the fast path's to `fast`, all else to `full`."""

    def __init__(self, full: ASGIApp, fast: ASGIApp, takes: Takes) -> None:
        self.full = full
        self.fast = fast
        self.takes = takes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.takes(scope):
            await self.fast(scope, receive, send)
        else:
            await self.full(scope, receive, send)


def bypass_router(app: FastAPI, fast: ASGIApp, takes: Takes) -> None:
    """From the app's first request on, what `takes` picks reaches `fast` through the app's
    layers (`layers_around`), in front of its router."""
    build_full: Callable[[], ASGIApp] = app.build_middleware_stack

    def build() -> ASGIApp:
        # Built when FastAPI builds its own stack (the first request, after every
        # add_middleware), so both see the same middleware list.
        return RouteFirst(build_full(), layers_around(app, fast), takes)

    app.build_middleware_stack = build  # type: ignore[method-assign]


def layers_around(app: FastAPI, inner: ASGIApp) -> ASGIApp:
    """`inner` wrapped in `app`'s error handling, body limit and middleware, outermost first."""
    error_handler = None
    for key, handler in app.exception_handlers.items():  # as FastAPI picks its 500 handler
        if key in (500, Exception):
            error_handler = handler
    layers = [Middleware(ServerErrorMiddleware, handler=error_handler, debug=app.debug)]
    # FastAPI 0.16x's body limit; older FastAPI (pyproject allows >= 0.115) has none to apply.
    max_body_size = getattr(app, "max_body_size", None)
    if max_body_size is not None:
        from starlette.middleware.body_limit import RequestBodyLimitMiddleware

        layers.append(Middleware(RequestBodyLimitMiddleware, max_body_size=max_body_size))
    stack = inner
    for cls, args, kwargs in reversed([*layers, *app.user_middleware]):
        stack = cls(stack, *args, **kwargs)
    return stack


def route_path(scope: Scope) -> str:
    """The path the router matches: the request's without the root path in front of it
    (Starlette's get_route_path, which is private)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if not root or not path.startswith(root):
        return path
    if path == root:
        return ""
    return path[len(root) :] if path[len(root)] == "/" else path
