"""A guard in front of the SDK's /api/inngest: a body the SDK cannot read is a 400, not a 500.

The Inngest server always POSTs a JSON object with `ctx`, `event`, `steps` and `use_api`.
The SDK answers anything else (an empty body, broken JSON) with a 500 and a traceback in
the log, which reads as a bug of ours; it is the caller's mistake, so it gets a 400 that
says so. The SDK routes are the Inngest server's, not the public API's: they are left out
of the OpenAPI schema.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from learninngest.serving.router_bypass import route_path

log = logging.getLogger("learninngest.worker")

SDK_REQUEST_KEYS = ("ctx", "event", "steps", "use_api")
BAD_BODY = (
    "POST {path} takes the JSON object the Inngest server sends (with ctx, event, steps, use_api); "
    "this body is {problem}. Clients use /api/v1/chat; only the Inngest server calls {path}."
)


def sdk_body_problem(body: bytes) -> str | None:
    """Pure: why `body` is not a request the SDK can read, or None when it is one."""
    if not body.strip():
        return "empty"
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return "not JSON"
    if not isinstance(parsed, dict):
        return "not a JSON object"
    missing = [key for key in SDK_REQUEST_KEYS if key not in parsed]
    if missing:
        return "missing " + ", ".join(missing)
    return None


class SdkBodyGuard:
    """ASGI middleware: read the POST body for `path`, refuse it (400) or replay it to the SDK."""

    def __init__(self, app: ASGIApp, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The path the router matches (without a server's --root-path), as the fast path does.
        if scope["type"] != "http" or scope["method"] != "POST" or route_path(scope) != self.path:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the caller left; nobody is there to answer
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = sdk_body_problem(body)
        if problem is not None:
            log.warning("refused a POST %s: body is %s", self.path, problem)
            detail = BAD_BODY.format(path=self.path, problem=problem)
            await JSONResponse({"detail": detail}, status_code=400)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def guard_sdk_routes(app: FastAPI, path: str, *, signed: bool) -> None:
    """Keep the SDK's routes out of the public OpenAPI and, in dev mode, guard `path`.

    In signed (cloud) mode the SDK checks the signature before it reads the body, so an
    unsigned call gets its 401 first; only the holder of the signing key could send an
    unreadable body there, and the guard would only answer ahead of that check.
    """
    for route in app.routes:
        if getattr(route, "path", None) == path:
            route.include_in_schema = False  # type: ignore[attr-defined]
    if not signed:
        app.add_middleware(SdkBodyGuard, path=path)
