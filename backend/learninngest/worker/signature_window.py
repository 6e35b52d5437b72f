"""Refuses signed calls to /api/inngest dated more than 5 minutes from now (production mode).

The SDK verifies the HMAC but not the age of `t` in `X-Inngest-Signature: t=<s>&s=<hex>`,
so a captured call could be replayed a day later. The TypeScript SDK allows 5 minutes; so
does this guard. It only reads the timestamp: the SDK still checks the signature itself
(a forged `t` breaks the HMAC), and unsigned requests still reach the SDK, which refuses them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

MAX_SKEW_S = 300
log = logging.getLogger("learninngest.worker")


def stale(header: str, now: float, max_skew_s: float = MAX_SKEW_S) -> str | None:
    """Why the signature's timestamp is refused, or None when it is within the window."""
    ts = parse_qs(header).get("t", [""])[0]
    try:
        skew = int(ts) - now
    except ValueError:
        return "the X-Inngest-Signature header has no valid timestamp `t`"
    if abs(skew) <= max_skew_s:
        return None
    when = "in the future" if skew > 0 else "old"
    return (
        f"the request's signature is {abs(skew):.0f} s {when}; signed requests more than "
        f"{max_skew_s // 60:g} minutes from now are refused (a replay, or a wrong clock)"
    )


class SignatureWindow:
    """ASGI middleware: 401 for a request to `path` whose signature is outside the window."""

    def __init__(self, app: ASGIApp, path: str, clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.path = path
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path:
            header = dict(scope["headers"]).get(b"x-inngest-signature")
            reason = stale(header.decode("latin-1"), self.clock()) if header else None
            if reason is not None:
                log.warning("refused %s %s: %s", scope["method"], self.path, reason)
                body = json.dumps({"message": f"Unauthorized: {reason}"}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
