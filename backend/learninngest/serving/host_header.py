"""ASGI middleware: an HTTP/1.1 request must carry exactly one Host header, else 400.

RFC 9112 (section 3.2): "A server MUST respond with a 400 (Bad Request) status code to any
HTTP/1.1 request message that lacks a Host header field and to any request message that
contains more than one Host header field". uvicorn's h11 protocol does so; its httptools
one (the kit's default) let such a request through to the app, so every kit server
(limits.uvicorn_config) checks it here. HTTP/1.0 may omit Host.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class RequireHost:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            hosts = sum(1 for name, _ in scope.get("headers", ()) if name.lower() == b"host")
            if hosts > 1 or (hosts == 0 and scope.get("http_version") == "1.1"):
                response = PlainTextResponse(
                    "Bad Request: an HTTP/1.1 request needs exactly one Host header.",
                    status_code=400,
                    headers={"Connection": "close"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
