"""How long and how many: the limits every HTTP server of the kit runs with (uvicorn).

uvicorn alone holds a connection whose headers never finish, or whose body is shorter
than its Content-Length, for as long as the client likes; a thousand such connections
exhaust `ulimit -n 1024`. The kit's servers (`learninngest up | serve | engine`, the
notebooks' and tests' BackgroundServer) therefore run with:

- `timeout_keep_alive_s`: an idle keep-alive connection is closed after this (uvicorn's own);
- `header_timeout_s`: a request head (request line and headers) must be complete this long
  after the connection opened or the previous response ended, else the connection is closed
  (a connection upgraded to a WebSocket has no more heads: the deadline ends with it);
- `body_timeout_s`: the body must then arrive within this, else 408 (body_timeout.py);
- `limit_concurrency`: past this many connections or requests, uvicorn answers 503, and a
  connection opened beyond it is closed at once (so file descriptors stay bounded), unless
  an idle keep-alive connection can be closed to make room for it (idle_connections.py);
- `max_incomplete_event_bytes`: the bound on a request head being buffered; past it the
  connection is answered 400 and closed.

The protocol is uvicorn's httptools one when httptools is importable (less CPU per request:
a C parser), else its h11 one; both get the same limits. httptools has no head-size bound of
its own, so `BoundedHttpToolsProtocol` counts the bytes received while a head is incomplete
and answers as h11 does past the bound (uvicorn's 400 "Invalid HTTP request received.").

In production a reverse proxy (nginx, Caddy) in front adds its own; see docs/production.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools not installed: h11 is the fallback
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

from learninngest.serving.body_timeout import DEFAULT_BODY_TIMEOUT_S, BodyTimeout
from learninngest.serving.host_header import RequireHost
from learninngest.serving.idle_connections import forget, make_room

log = logging.getLogger("learninngest.server")


@dataclass(frozen=True)
class ServerLimits:
    timeout_keep_alive_s: int = 5
    header_timeout_s: float = 10.0
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S
    limit_concurrency: int = 400
    max_incomplete_event_bytes: int = 16_384

    @classmethod
    def from_settings(cls, settings: Any) -> ServerLimits:
        """From the backend's Settings (SERVER_* variables)."""
        return cls(
            timeout_keep_alive_s=settings.server_timeout_keep_alive_s,
            header_timeout_s=settings.server_header_timeout_s,
            body_timeout_s=settings.server_body_timeout_s,
            limit_concurrency=settings.server_limit_concurrency,
            max_incomplete_event_bytes=settings.server_max_incomplete_event_bytes,
        )


class _HeadDeadlineAndCap:
    """A request-head deadline and a hard connection cap, for either uvicorn protocol."""

    _limits: ServerLimits
    _head_timer: asyncio.TimerHandle | None = None
    idle_since: float | None = None  # between two requests (idle_connections.py may close it)
    if TYPE_CHECKING:  # provided by the uvicorn protocol this is mixed into
        connections: set[Any]
        transport: asyncio.Transport
        loop: asyncio.AbstractEventLoop
        cycle: Any

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        limit = self._limits.limit_concurrency
        if len(self.connections) >= limit and not make_room(self.connections, limit):
            # Beyond the cap, with no idle connection to close for it, refuse at once:
            # holding it would hold a file descriptor.
            log.warning("connection refused: %d open (limit %d)", len(self.connections), limit)
            forget(self.connections, self)
            return
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        self.idle_since = None
        super().data_received(data)  # type: ignore[misc]

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            if self.cycle is None or self.cycle.response_complete:  # no pipelined request started
                self.idle_since = time.monotonic()
            self._arm_head_timer()  # the next request's head gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)  # type: ignore[misc]

    def handle_websocket_upgrade(self, *args: Any) -> None:
        # From here on the connection carries WebSocket frames (the engine's connect gateway,
        # a worker's socket for hours), not request heads: the head deadline must not close it.
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().handle_websocket_upgrade(*args)  # type: ignore[misc]

    def _arm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self._limits.header_timeout_s, self._head_timeout, self.cycle)

    def _head_timeout(self, cycle_then: object) -> None:
        self._head_timer = None
        # A new request since the timer was armed means its head arrived: nothing to do.
        # The same cycle still running (a pipelined request being answered) is not idle either.
        idle = cycle_then is None or getattr(cycle_then, "response_complete", True)
        if self.cycle is cycle_then and idle and not self.transport.is_closing():
            log.info("connection closed: no complete request head within %gs", self._limits.header_timeout_s)
            self.transport.close()


def bounded_h11_protocol(limits: ServerLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the limits (h11 bounds the head size itself)."""

    class BoundedH11Protocol(_HeadDeadlineAndCap, H11Protocol):
        _limits = limits

    return BoundedH11Protocol


def bounded_httptools_protocol(limits: ServerLimits) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol with the limits, the head-size bound included."""
    if HttpToolsProtocol is None:
        raise RuntimeError("httptools is not installed: pip install httptools")

    class BoundedHttpToolsProtocol(_HeadDeadlineAndCap, HttpToolsProtocol):
        _limits = limits
        _awaiting_head = True
        _head_bytes = 0

        def data_received(self, data: bytes) -> None:
            # Counted before parsing: a chunk that completes a head resets the count in
            # on_headers_complete, so a large body after a small head is never counted.
            if self._awaiting_head:
                self._head_bytes += len(data)
            super().data_received(data)
            too_long = self._head_bytes > limits.max_incomplete_event_bytes
            if self._awaiting_head and too_long and not self.transport.is_closing():
                log.warning("request head over %d bytes: answered 400", limits.max_incomplete_event_bytes)
                self.send_400_response("Invalid HTTP request received.")  # uvicorn's own, as h11 answers

        def on_headers_complete(self) -> None:
            self._awaiting_head = False
            self._head_bytes = 0
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._awaiting_head = True
            self._head_bytes = 0
            super().on_message_complete()

    return BoundedHttpToolsProtocol


def bounded_protocol(limits: ServerLimits, kind: str | None = None) -> type[asyncio.Protocol]:
    """The bounded protocol of `kind` ("httptools" or "h11"); None picks httptools when installed."""
    if kind is None:
        kind = "h11" if HttpToolsProtocol is None else "httptools"
    if kind == "httptools":
        return bounded_httptools_protocol(limits)
    if kind == "h11":
        return bounded_h11_protocol(limits)
    raise ValueError(f"unknown HTTP protocol {kind!r}: use 'httptools' or 'h11'")


def uvicorn_config(
    app: Any,
    *,
    host: str,
    port: int,
    limits: ServerLimits | None = None,
    protocol: str | None = None,
    **options: Any,
) -> uvicorn.Config:
    """A uvicorn.Config for `app` with `limits` (the defaults when None) applied.

    `protocol`: "httptools" or "h11"; None picks httptools when it is installed.
    """
    limits = limits or ServerLimits()
    # uvicorn would believe X-Forwarded-For from 127.0.0.1 (anyone on this host could forge a
    # client address); an app that sits behind a proxy says so itself (TRUSTED_PROXIES).
    options.setdefault("proxy_headers", False)
    return uvicorn.Config(
        RequireHost(BodyTimeout(app, limits.body_timeout_s)),
        host=host,
        port=port,
        http=bounded_protocol(limits, protocol),
        timeout_keep_alive=limits.timeout_keep_alive_s,
        limit_concurrency=limits.limit_concurrency,
        h11_max_incomplete_event_size=limits.max_incomplete_event_bytes,
        **options,
    )
