"""Under more long-polls than the server takes, health checks and short requests still get in.

Past LONG_POLL_MAX_WAITERS a long-poll is answered 503 at once, and its connection then sits
in keep-alive; at the connection cap those idle connections used to keep /healthz out. Now
an idle connection is closed to make room for a new one (idle_connections.py). Both of
uvicorn's protocols the kit bounds are checked, with raw sockets on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.serving.limits import ServerLimits
from learninngest.store import ChatRecord, open_store
from tests.support import wait_for

CAP = 40
WAITERS = 20
LONG_POLLS = 100


@pytest.fixture(params=["httptools", "h11"])
def backend(request: pytest.FixtureRequest, sqlite_path: Path) -> Iterator[BackgroundServer]:
    url = f"sqlite:///{sqlite_path}"

    async def pending() -> None:
        store = open_store(url)
        await store.create(ChatRecord(request_id="r1", query="q"))
        await store.close()

    asyncio.run(pending())
    settings = get_settings(
        port=free_port(),
        inngest_base_url=f"http://127.0.0.1:{free_port()}",
        result_store_url=url,
        long_poll_max_waiters=WAITERS,
        server_limit_concurrency=CAP,
    )
    # Idle connections would otherwise go after 5 s: this test must not depend on a moment.
    limits = ServerLimits(limit_concurrency=CAP, timeout_keep_alive_s=3600, header_timeout_s=3600)
    app = create_app(settings)
    with BackgroundServer(
        app, name="backend", port=settings.port, limits=limits, protocol=request.param
    ) as server:
        yield server


def outcome(sock: socket.socket) -> str | None:
    """'closed', the status of the answer, or None while neither has come."""
    try:
        data = sock.recv(65536, socket.MSG_PEEK)
    except BlockingIOError:
        return None
    except (ConnectionResetError, BrokenPipeError):
        return "closed"
    if not data:
        return "closed"
    return data.split(b" ", 2)[1].decode() if b"\r\n" in data else None


def test_health_checks_and_short_requests_get_in_under_a_flood_of_long_polls(
    backend: BackgroundServer,
) -> None:
    socks: list[socket.socket] = []
    try:
        for _ in range(LONG_POLLS):
            sock = socket.create_connection((backend.host, backend.port), timeout=5)
            sock.setblocking(False)
            with contextlib.suppress(ConnectionResetError, BrokenPipeError):  # refused at the cap already
                sock.sendall(b"GET /api/v1/chat/result/r1?wait=30 HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(sock)
        waiters = backend.app.state.waiters

        def settled() -> dict[str | None, int]:
            seen = [outcome(sock) for sock in socks]
            counts = {kind: seen.count(kind) for kind in set(seen)}
            # Every long-poll is held (no answer yet), answered 503, or refused; the cap is full.
            assert waiters.count == WAITERS and counts.get(None, 0) == WAITERS, counts
            assert counts.get("503", 0) >= 1, counts
            # The refused requests' tasks are gone too: uvicorn counts them against the cap until
            # their done-callbacks run, a moment after the client read the 503.
            assert backend._server is not None
            tasks = len(backend._server.server_state.tasks)
            assert tasks <= WAITERS, f"{tasks} request tasks still open"
            return counts

        counts = wait_for(settled, timeout=30, interval=0.1)
        assert counts.get(None, 0) + counts.get("503", 0) + counts.get("closed", 0) == LONG_POLLS

        health = [httpx.get(f"{backend.url}/healthz", timeout=10).status_code for _ in range(20)]
        short = [
            httpx.get(f"{backend.url}/api/v1/chat/result/nope", timeout=10).status_code for _ in range(20)
        ]
        assert health == [200] * 20
        assert short == [404] * 20
        assert waiters.count == WAITERS  # the held long-polls were never closed for them
    finally:
        for sock in socks:
            sock.close()
