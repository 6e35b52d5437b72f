"""The driver: how the run loop calls a function of an app, without knowing how it is reached.

`Driver` is all the executor sees: `call(url, body)` answers a `protocol.Outcome`. `HttpDriver`
POSTs to the app's /api/inngest: it signs the body, sends it (plain http:// on the pool's
lean keep-alive client, serving/plain_http.py; https:// on an httpx client lent by the pool),
verifies a signed reply and parses it. The connect gateway (engine/connect/) is a second
driver, for apps whose workers dialled in over a WebSocket; `ByScheme` picks one per URL.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import httpx

from learninngest.engine.settings import EngineSettings
from learninngest.engine.wire import protocol, signing
from learninngest.engine.wire.client_pool import ClientPool
from learninngest.serving.plain_http import CallTimedOut, PlainHttpError

log = logging.getLogger("learninngest.engine")

# The connection closed with no answer: what an app's keep-alive timer closing the kept
# connection just as a call goes out looks like (WriteError is read as one of these by httpcore).
_CLOSED = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


async def _post_once_more_if_kept_closed(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    """POST; if a kept-alive connection closed before any byte of the answer came, POST once more.

    The app's server closes an idle kept connection on its keep-alive timer (uvicorn: 5 s); a
    call sent at that moment meets a closed socket. The server had stopped reading it, so the
    app never ran that request, and the call is made again at once on a new connection,
    instead of counting as a failed attempt (which fails a run with `retries=0`). Only a
    reused connection qualifies: a new one that closes without an answer means the app took
    the request and died, maybe after running the step; that call fails and retries as any
    failure does. httpcore's trace extension tells which (a new connection traces
    `connect_tcp`) and whether the answer had begun (`receive_response_headers.complete`).
    """
    seen: set[str] = set()

    async def trace(name: str, info: dict[str, Any]) -> None:
        if name in ("connection.connect_tcp.started", "http11.receive_response_headers.complete"):
            seen.add(name)

    try:
        return await client.post(url, content=body, headers=headers, extensions={"trace": trace})
    except _CLOSED as exc:
        if seen:  # a new connection, or the answer had begun: a real failure
            raise
        log.info(
            "kept connection to %s closed before answering (%s); calling again once",
            url,
            exc or type(exc).__name__,
        )
        return await client.post(url, content=body, headers=headers)


class Driver(Protocol):
    async def call(self, url: str, body: bytes, generation: int | None = None) -> protocol.Outcome:
        """Call one function (the SDK request body, encoded) and return what its reply means.

        `generation`: the call's dispatch generation (run/dispatches.py), sent to the SDK as
        `X-Inngest-Generation-Id` where the transport has headers."""
        ...


class ByScheme:
    """ws(s):// URLs (an app synced by a connect worker) go to `connect`, the others to `http`."""

    def __init__(self, http: Driver, connect: Driver) -> None:
        self.http = http
        self.connect = connect

    async def call(self, url: str, body: bytes, generation: int | None = None) -> protocol.Outcome:
        if url.startswith(("ws://", "wss://")):
            return await self.connect.call(url, body, generation)
        return await self.http.call(url, body, generation)


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

    async def call(self, url: str, body: bytes, generation: int | None = None) -> protocol.Outcome:
        headers = self._headers
        if generation is not None:
            headers = {**headers, protocol.GENERATION_HEADER: str(generation)}
        key = self.settings.signing_key
        if key:
            headers = {**headers, "x-inngest-signature": signing.sign(body, key)}
        try:
            if url.startswith("http://"):
                # The lean client (serving/plain_http.py) makes a call whose kept connection
                # closed before any byte of its answer once more itself.
                plain = await self.pool.plain.post(url, body, headers)
                status, headers_in, content = plain.status, plain.headers, plain.content
            else:
                async with self.pool.lend() as client:
                    resp = await _post_once_more_if_kept_closed(client, url, body, headers)
                status, headers_in, content = resp.status_code, dict(resp.headers), resp.content
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
        if status == 201:
            # A streamed reply (INNGEST_STREAMING=force): the reply it wraps is what counts.
            try:
                status, headers_in, content = protocol.unstream(headers_in, content)
            except ValueError as exc:
                return protocol.CallFailed(protocol.error_object("InvalidReply", str(exc)))
        if key and status in (200, 206, 500):
            keys = [k for k in (key, self.settings.signing_key_fallback) if k]
            bad = signing.problem(content, headers_in.get("x-inngest-signature"), keys)
            if bad is not None:
                why = (
                    f"the reply from {url} is not signed with this engine's signing key ({bad})"
                    if not bad.startswith("signature ")
                    else f"the reply from {url} has a stale {bad}"
                )
                return protocol.CallFailed(protocol.error_object("InvalidSignature", why))
        return protocol.parse_reply(status, headers_in, content)
