"""Which policy SecurityHeaders picks under a proxy's prefix: the one of the path the router
matches (router_bypass.route_path), so a page gets the policy of the route that serves it."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from learninngest.serving.security_headers import INLINE_STYLES, STRICT, SecurityHeaders


async def page(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def as_sent(csp: str) -> str:
    return re.sub(r"\s+;", ";", csp)  # the header closes up spaces before a `;`


def policy(path: str, root_path: str = "") -> str:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    app = SecurityHeaders(page, by_prefix={"/styled": INLINE_STYLES})
    scope = {"type": "http", "method": "GET", "path": path, "root_path": root_path, "headers": []}
    asyncio.run(app(scope, receive, send))
    return dict(sent[0]["headers"])[b"content-security-policy"].decode()


def test_the_prefix_is_taken_off_at_a_segment_boundary() -> None:
    assert policy("/styled/page") == as_sent(INLINE_STYLES)
    assert policy("/p/styled/page", root_path="/p") == as_sent(INLINE_STYLES)
    assert policy("/p", root_path="/p") == as_sent(STRICT)


def test_a_path_that_only_starts_with_the_prefix_keeps_it_as_the_router_does() -> None:
    # Root path "/sty": Starlette routes "/styled/page" as itself (no boundary after "/sty"),
    # so the page served is /styled's and gets its policy (the old copy made it "led/page").
    assert policy("/styled/page", root_path="/sty") == as_sent(INLINE_STYLES)
    assert policy("/other", root_path="/p") == as_sent(STRICT)
