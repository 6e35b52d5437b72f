"""Security headers on every HTTP answer of the backend and the engine (an ASGI middleware).

- `Content-Security-Policy`: scripts, styles, images and connections from the page's own
  origin only, no plugins, a `<base>` of its own origin only, forms posting back to it, and `frame-ancestors
  'none'`: no other site may frame a page (clickjacking the engine's login, say).
- `X-Frame-Options: DENY`: the same for browsers without CSP level 2.
- `X-Content-Type-Options: nosniff`: a JSON answer is never run as a script or style.
- `Referrer-Policy: same-origin`: URLs (they hold request and run ids) are not sent to other
  sites. Not `no-referrer`: browsers then send `Origin: null` with a form's POST, which the
  engine dashboard's same-origin check would refuse.

A policy is picked by path prefix. The chat page has no inline script or style, so the
default is strict. The engine dashboard styles itself inline. Swagger UI (`/docs`)
starts from one inline script: its SHA-256 is allowed, read from the page as it is sent
(the page is built by FastAPI, with no input from the request), so no other inline
script can run there. A header the app set itself is kept.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from learninngest.serving.router_bypass import route_path

# data: images: the pages' empty favicon (`data:,`), so the browser asks for no /favicon.ico.
# base-uri 'self': the dashboard's <base href="../"> (pages under a proxy's prefix), never elsewhere.
_COMMON = (
    "img-src 'self' data:; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)
STRICT = f"default-src 'self'; {_COMMON}"
"""No inline code at all: the chat page, JSON answers."""
INLINE_STYLES = f"default-src 'self'; style-src 'self' 'unsafe-inline'; {_COMMON}"
"""The engine dashboard: inline <style> and style attributes, no scripts."""
DOCS = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    f"worker-src 'self' blob:; script-src 'self' {{hashes}}; {_COMMON}"
)
"""Swagger UI and ReDoc: data: images, inline styles, web workers, hashed inline scripts."""

SWAGGER_PAGES = frozenset({"/docs", "/docs/oauth2-redirect"})
"""FastAPI's Swagger pages, each started by inline scripts."""

_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
_CSP = b"content-security-policy"
_NAMES = frozenset({_CSP, *(name for name, _ in _HEADERS)})
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)
_MAX_HASHED_BODY = 1_048_576


class SecurityHeaders:
    def __init__(
        self,
        app: ASGIApp,
        *,
        default: str = STRICT,
        by_prefix: Mapping[str, str] | None = None,
        hashed_paths: frozenset[str] = frozenset(),
    ) -> None:
        """`by_prefix`: a policy per path prefix (longest wins); `hashed_paths`: pages whose
        inline scripts are allowed by hash, substituted for `{hashes}` in their policy."""
        self.app = app
        self.default = default
        self.by_prefix = sorted((by_prefix or {}).items(), key=lambda item: -len(item[0]))
        self.hashed_paths = hashed_paths
        # Each policy's headers as bytes, built once: a response only appends them.
        self._headers = {
            policy: _headers(policy.replace("{hashes}", ""))
            for policy in {default, *dict(self.by_prefix).values()}
        }

    def policy_for(self, path: str) -> str:
        for prefix, policy in self.by_prefix:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return policy
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The path the router matches (a proxy's prefix taken off at a segment boundary only).
        path = route_path(scope) or "/"
        policy = self.policy_for(path)
        if path in self.hashed_paths:
            await self._hashed(scope, receive, send, policy)
            return

        extra = self._headers[policy]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = _add(message, extra)
            await send(message)

        await self.app(scope, receive, with_headers)

    async def _hashed(self, scope: Scope, receive: Receive, send: Send, policy: str) -> None:
        """Hold the (small, generated) page until its body is complete, then hash its scripts."""
        start: Message | None = None
        held = b""
        sent = False

        async def holding(message: Message) -> None:
            nonlocal start, held, sent
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or sent or start is None:
                await send(message)
                return
            held += message.get("body", b"")
            more = message.get("more_body", False)
            if more and len(held) <= _MAX_HASHED_BODY:
                return
            # A page too large to hold is sent with the scripts seen so far: the rest are blocked.
            hashes = " ".join(
                f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
                for script in _INLINE_SCRIPT.findall(held)
            )
            sent = True
            await send(_add(start, _headers(policy.replace("{hashes}", hashes))))
            await send({"type": "http.response.body", "body": held, "more_body": more})

        await self.app(scope, receive, holding)


def _headers(policy: str) -> tuple[tuple[bytes, bytes], ...]:
    """The headers for `policy`, CSP last (its spaces before a `;` closed up)."""
    return (*_HEADERS, (_CSP, re.sub(r"\s+;", ";", policy).encode()))


def _add(start: Message, extra: tuple[tuple[bytes, bytes], ...]) -> Message:
    """`start` with `extra` appended, but for the names the app set itself."""
    headers = list(start.get("headers", []))
    present = {name.lower() for name, _ in headers}
    if not present.isdisjoint(_NAMES):
        extra = tuple((name, value) for name, value in extra if name not in present)
    return {**start, "headers": headers + list(extra)}
