"""The driver: how the run loop calls a function of an app, without knowing how it is reached.

`Driver` is all the executor sees: `call(url, body)` answers a `protocol.Outcome`. `HttpDriver`
POSTs to the app's /api/inngest: it signs the body, sends it (plain http:// on the pool's
lean keep-alive client, serving/plain_http.py; https:// on an httpx client lent by the pool),
verifies a signed reply and parses it. The connect gateway (engine/connect/) is a second
driver, for apps whose workers dialled in over a WebSocket; `ByScheme` picks one per URL.
"""

from __future__ import annotations

from typing import Protocol

import httpx

from learninngest.engine.settings import EngineSettings
from learninngest.engine.wire import protocol, signing
from learninngest.engine.wire.client_pool import ClientPool
from learninngest.serving.plain_http import CallTimedOut, PlainHttpError


class Driver(Protocol):
    async def call(self, url: str, body: bytes) -> protocol.Outcome:
        """Call one function (the SDK request body, encoded) and return what its reply means."""
        ...


class ByScheme:
    """ws(s):// URLs (an app synced by a connect worker) go to `connect`, the others to `http`."""

    def __init__(self, http: Driver, connect: Driver) -> None:
        self.http = http
        self.connect = connect

    async def call(self, url: str, body: bytes) -> protocol.Outcome:
        if url.startswith(("ws://", "wss://")):
            return await self.connect.call(url, body)
        return await self.http.call(url, body)


class HttpDriver:
    """The app is reached over HTTP: POST to its serve URL (`?fnId=…&stepId=…`)."""

    def __init__(self, settings: EngineSettings, pool: ClientPool) -> None:
        self.settings = settings
        self.pool = pool
        self._headers = {
            "content-type": "application/json",
            "user-agent": "learninngest-engine",
            "x-inngest-server-kind": settings.server_kind,
        }

    async def call(self, url: str, body: bytes) -> protocol.Outcome:
        headers = self._headers
        key = self.settings.signing_key
        if key:
            headers = {**headers, "x-inngest-signature": signing.sign(body, key)}
        try:
            if url.startswith("http://"):
                plain = await self.pool.plain.post(url, body, headers)
                status, reply_headers, content = plain.status, plain.headers, plain.content
            else:
                async with self.pool.lend() as client:
                    resp = await client.post(url, content=body, headers=headers)
                status, reply_headers, content = resp.status_code, dict(resp.headers), resp.content
        except (httpx.TimeoutException, CallTimedOut):
            return protocol.CallFailed(
                protocol.error_object(
                    "CallTimeout", f"no answer from {url} within {self.settings.call_timeout_s:g}s"
                )
            )
        except (httpx.HTTPError, PlainHttpError) as exc:
            name = exc.name if isinstance(exc, PlainHttpError) else type(exc).__name__
            return protocol.CallFailed(
                protocol.error_object(name, f"could not reach {url}: {exc or 'connection error'}")
            )
        if key and status in (200, 206, 500):
            keys = [k for k in (key, self.settings.signing_key_fallback) if k]
            signature = next(
                (v for k, v in reply_headers.items() if k.lower() == "x-inngest-signature"), None
            )
            bad = signing.problem(content, signature, keys)
            if bad is not None:
                why = (
                    f"the reply from {url} is not signed with this engine's signing key ({bad})"
                    if not bad.startswith("signature ")
                    else f"the reply from {url} has a stale {bad}"
                )
                return protocol.CallFailed(protocol.error_object("InvalidSignature", why))
        return protocol.parse_reply(status, reply_headers, content)
