"""Make room at the connection cap by closing idle keep-alive connections, oldest first.

At SERVER_LIMIT_CONCURRENCY connections uvicorn answers every new request 503, and the
kit's cap closes any further connection at once. Under 1,000 long-polls most of those
connections were idle: their request had been answered (a 503 past LONG_POLL_MAX_WAITERS)
and they sat in keep-alive, so a health check or a short POST found no room and an
orchestrator would restart a healthy replica. A connection between two requests is only a
promise of a next one; closing it is what its keep-alive timeout would do a little later,
and HTTP clients open a new one. Connections inside a request, or still sending a head
(bounded by SERVER_HEADER_TIMEOUT_S), are never closed here.

Protocols mark themselves idle (`idle_since`, a monotonic time) when a response is
complete and no other request is underway, and not idle when bytes arrive.

A closed connection leaves uvicorn's set at once, not when its connection_lost runs: under
uvloop that callback can come after the new connection's request head, which uvicorn then
answered 503 for a connection that was already gone.
"""

from __future__ import annotations

from typing import Any


def make_room(connections: set[Any], limit: int) -> bool:
    """Close the longest-idle connections so that fewer than `limit` stay open; False (and
    nothing closed) when there are not enough idle ones. Each connection has `.transport`
    and `.idle_since` (None while busy); the closed ones are taken out of `connections`."""
    live = [c for c in connections if not c.transport.is_closing()]
    excess = len(live) - (limit - 1)  # at `limit` open, uvicorn refuses every request: stay below
    if excess <= 0:
        return True
    idle = sorted((c for c in live if c.idle_since is not None), key=lambda c: c.idle_since)
    if len(idle) < excess:
        return False
    for connection in idle[:excess]:
        forget(connections, connection)
    return True


def forget(connections: set[Any], connection: Any) -> None:
    """Close `connection` and stop counting it against the cap now (uvicorn's own
    connection_lost discards it again later, harmlessly)."""
    connection.transport.close()
    connections.discard(connection)
