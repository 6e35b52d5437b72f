"""ForwardedPrefix: serve pages right when a proxy on this machine serves them under a path prefix.

jupyter-server-proxy passes `/user/ana/proxy/8123/docs` on as `/docs` and names what it
removed in `X-Forwarded-Prefix: /user/ana/proxy/8123`. This ASGI middleware puts that
prefix into the request's `root_path` (and in front of `path`, as the ASGI spec has it),
so that every URL an app builds from the root path is one the browser can follow:
Swagger's page, its assets and its openapi.json (FastAPI and fastapi-offline read
`root_path`), the OpenAPI `servers` entry "Try it out" sends to.

The header is trusted only from loopback (the proxy runs on this machine; a remote
client's header is ignored), and only when it is a plain path: it ends up in HTML.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

HEADER = b"x-forwarded-prefix"
MAX_LENGTH = 512
# Path segments of URL-safe characters: no quotes, angle brackets or backslashes (the value
# is written into the Swagger page), no empty or dot segments.
_PLAIN_PATH = re.compile(r"^(?:/(?!\.{1,2}(?:/|$))[A-Za-z0-9._~%@+,;=:-]+)+$")


def is_loopback(host: str) -> bool:
    return host == "::1" or host.startswith("127.")


def trusted_prefix(scope: Scope) -> str:
    """The request's forwarded prefix without its trailing slash; "" when none may be used."""
    client = scope.get("client")
    if not client or not is_loopback(str(client[0])):
        return ""
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            prefix = value.decode("latin-1").strip().rstrip("/")
            if len(prefix) <= MAX_LENGTH and _PLAIN_PATH.match(prefix):
                return prefix
            return ""
    return ""


class ForwardedPrefix:
    """ASGI middleware: a trusted `X-Forwarded-Prefix` becomes the request's root path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and (prefix := trusted_prefix(scope)):
            scope = dict(scope)
            scope["root_path"] = prefix + scope.get("root_path", "")
            scope["path"] = prefix + scope["path"]
            if raw := scope.get("raw_path"):
                scope["raw_path"] = prefix.encode() + raw
        await self.app(scope, receive, send)
