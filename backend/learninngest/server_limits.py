"""How long and how many: the limits every HTTP server of the kit runs with (uvicorn).

uvicorn alone holds a connection whose headers never finish, or whose body is shorter
than its Content-Length, for as long as the client likes; a thousand such connections
exhaust `ulimit -n 1024`. The kit's servers (`learninngest up | serve | engine`, the
notebooks' and tests' BackgroundServer) therefore run with:

- `timeout_keep_alive_s`: an idle keep-alive connection is closed after this (uvicorn's own);
- `header_timeout_s`: a request head (request line and headers) must be complete this long
  after the connection opened or the previous response ended, else the connection is closed;
- `body_timeout_s`: the body must then arrive within this, else 408 (body_timeout.py);
- `limit_concurrency`: past this many connections or requests, uvicorn answers 503, and a
  connection opened beyond it is closed at once (so file descriptors stay bounded);
- `max_incomplete_event_bytes`: h11's bound on a request head being buffered.

In production a reverse proxy (nginx, Caddy) in front adds its own; see the README.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from learninngest.body_timeout import DEFAULT_BODY_TIMEOUT_S, BodyTimeout

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


def bounded_protocol(limits: ServerLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a request-head deadline and a hard connection cap."""

    class BoundedH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.limit_concurrency:
                # Beyond the cap, refuse at once: holding it would hold a file descriptor.
                log.warning(
                    "connection refused: %d open (limit %d)", len(self.connections), limits.limit_concurrency
                )
                transport.close()
                return
            self._arm_head_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm_head_timer()  # the next request's head gets the same deadline

        def connection_lost(self, exc: Exception | None) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            super().connection_lost(exc)

        def _arm_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            self._head_timer = self.loop.call_later(limits.header_timeout_s, self._head_timeout, self.cycle)

        def _head_timeout(self, cycle_then: object) -> None:
            self._head_timer = None
            # A new request since the timer was armed means its head arrived: nothing to do.
            # The same cycle still running (a pipelined request being answered) is not idle either.
            idle = cycle_then is None or getattr(cycle_then, "response_complete", True)
            if self.cycle is cycle_then and idle and not self.transport.is_closing():
                log.info("connection closed: no complete request head within %gs", limits.header_timeout_s)
                self.transport.close()

    return BoundedH11Protocol


def uvicorn_config(
    app: Any, *, host: str, port: int, limits: ServerLimits | None = None, **options: Any
) -> uvicorn.Config:
    """A uvicorn.Config for `app` with `limits` (the defaults when None) applied."""
    limits = limits or ServerLimits()
    return uvicorn.Config(
        BodyTimeout(app, limits.body_timeout_s),
        host=host,
        port=port,
        http=bounded_protocol(limits),
        timeout_keep_alive=limits.timeout_keep_alive_s,
        limit_concurrency=limits.limit_concurrency,
        h11_max_incomplete_event_size=limits.max_incomplete_event_bytes,
        **options,
    )
