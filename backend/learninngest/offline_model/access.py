"""Who may call the offline model the backend mounts at /offline: anyone in dev mode; with
API_KEYS, a caller with one of those keys, or the backend itself.

Left open, a backend with API keys would still serve its model to anyone: answers cost
CPU, and `[fault:timeout]` holds a connection for OFFLINE_TIMEOUT_S. The backend's own
calls carry `internal_key`, derived from the keys it was given (only their hashes), so
every process of one deployment computes the same one, and it changes with the keys.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from learninngest.offline_model.errors import openai_error

_INFO = b"learninngest offline model access v1"


def internal_key(key_digests: Iterable[bytes]) -> str:
    """The bearer the backend's own LLM calls send to its mounted offline model."""
    return hashlib.sha256(_INFO + b"".join(sorted(key_digests))).hexdigest()


class KeyRequired:
    """ASGI: 401 (OpenAI's shape) unless `Authorization: Bearer <token>` is one `accepts`."""

    def __init__(self, app: ASGIApp, accepts: Callable[[str], bool]) -> None:
        self.app = app
        self.accepts = accepts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = dict(scope.get("headers", ())).get(b"authorization", b"").decode("latin-1")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not self.accepts(token.strip()):
                response = openai_error(
                    401,
                    "This backend's offline model needs an API key: send 'Authorization: Bearer <key>'.",
                    code="invalid_api_key",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def accepting(internal: str, owner_of: Callable[[str], str | None]) -> Callable[[str], bool]:
    """The backend's internal key (constant time), or any valid API key."""
    return lambda token: hmac.compare_digest(token.encode(), internal.encode()) or owner_of(token) is not None
