"""Server limits (serving/limits.py, serving/body_timeout.py) against a real backend and raw sockets.

Slow clients are simulated with plain sockets on loopback: a bounded number of them (50),
each closed by the test at the end whatever happens. Every test runs with both of uvicorn's
protocols the kit bounds (httptools, the default when installed, and h11, the fallback).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, WebSocket
from websockets.sync.client import connect

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.serving.limits import ServerLimits
from tests.support import wait_for

SLOW_CLIENTS = 50


@pytest.fixture(params=["httptools", "h11"])
def protocol(request: pytest.FixtureRequest) -> str:
    return request.param


@contextlib.contextmanager
def backend(sqlite_path: Path, limits: ServerLimits, protocol: str) -> Iterator[BackgroundServer]:
    settings = get_settings(
        inngest_base_url=f"http://127.0.0.1:{free_port()}", result_store_url=f"sqlite:///{sqlite_path}"
    )
    with BackgroundServer(create_app(settings), name="backend", limits=limits, protocol=protocol) as server:
        yield server


@contextlib.contextmanager
def sockets(server: BackgroundServer, count: int) -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection((server.host, server.port), timeout=5)
            sock.setblocking(False)
            opened.append(sock)
        yield opened
    finally:
        for sock in opened:
            sock.close()


def read_until_closed(sock: socket.socket, received: dict[int, bytes]) -> bool:
    """Read what is there without blocking; True once the server has closed the connection."""
    while True:
        try:
            chunk = sock.recv(65536)
        except BlockingIOError:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not chunk:
            return True
        received[sock.fileno()] = received.get(sock.fileno(), b"") + chunk


def closed_count(socks: list[socket.socket], received: dict[int, bytes], closed: set[int]) -> int:
    for sock in socks:
        if sock.fileno() not in closed and read_until_closed(sock, received):
            closed.add(sock.fileno())
    return len(closed)


def test_unfinished_heads_and_short_bodies_are_cut_off(sqlite_path: Path, protocol: str) -> None:
    limits = ServerLimits(header_timeout_s=1, body_timeout_s=1)
    with backend(sqlite_path, limits, protocol) as server, sockets(server, SLOW_CLIENTS) as socks:
        heads, bodies = socks[: SLOW_CLIENTS // 2], socks[SLOW_CLIENTS // 2 :]
        for sock in heads:  # headers that never end
            sock.sendall(b"POST /api/v1/chat HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n")
        for sock in bodies:  # 10 bytes of the 100 announced
            sock.sendall(
                b"POST /api/v1/chat HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n" + b'{"query": '
            )
        received: dict[int, bytes] = {}
        closed: set[int] = set()

        def all_closed() -> None:
            assert closed_count(socks, received, closed) == SLOW_CLIENTS

        # Without limits uvicorn holds them as long as the clients like (90 s and more).
        wait_for(all_closed, timeout=30, interval=0.1)
        assert all(received.get(sock.fileno(), b"") == b"" for sock in heads)
        for sock in bodies:
            assert received[sock.fileno()].startswith(b"HTTP/1.1 408 "), received.get(sock.fileno())
        # And the server still answers everyone else.
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_a_request_sent_slowly_but_within_the_limits_is_served(sqlite_path: Path, protocol: str) -> None:
    limits = ServerLimits(header_timeout_s=10, body_timeout_s=10)
    with backend(sqlite_path, limits, protocol) as server, sockets(server, 1) as (sock,):
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
        sock.sendall(b"Connection: close\r\n\r\n")
        received: dict[int, bytes] = {}

        wait_for(lambda: _assert(read_until_closed(sock, received)), timeout=10, interval=0.05)
        assert received[sock.fileno()].startswith(b"HTTP/1.1 200 ")


def _assert(condition: bool) -> None:
    assert condition


def test_connections_beyond_the_limit_are_refused_at_once(sqlite_path: Path, protocol: str) -> None:
    limit = 10
    limits = ServerLimits(limit_concurrency=limit, header_timeout_s=60)
    with backend(sqlite_path, limits, protocol) as server, sockets(server, SLOW_CLIENTS) as socks:
        received: dict[int, bytes] = {}
        closed: set[int] = set()

        def the_excess_is_closed() -> None:
            # The head timeout (60 s) cannot explain these: only the connection cap can.
            assert closed_count(socks, received, closed) >= SLOW_CLIENTS - limit

        wait_for(the_excess_is_closed, timeout=30, interval=0.1)


def test_a_request_head_over_the_size_bound_is_answered_400_and_closed(
    sqlite_path: Path, protocol: str
) -> None:
    limits = ServerLimits(max_incomplete_event_bytes=4096)
    with backend(sqlite_path, limits, protocol) as server, sockets(server, 1) as (sock,):
        # 10 KB of headers, never ended, in one write: the server reads it all before it
        # answers and closes (unread bytes would make the close a reset, losing the answer).
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n" + b"X-Filler: " + b"a" * 10_000 + b"\r\n")
        received: dict[int, bytes] = {}

        wait_for(lambda: _assert(read_until_closed(sock, received)), timeout=10, interval=0.05)
        assert received[sock.fileno()].startswith(b"HTTP/1.1 400 "), received.get(sock.fileno())


def test_a_large_body_after_a_small_head_is_not_taken_for_a_large_head(
    sqlite_path: Path, protocol: str
) -> None:
    # Head, a 64 KB body and a second request, in one write: only heads count toward the bound.
    limits = ServerLimits(max_incomplete_event_bytes=4096)
    body = b'{"query": "' + b"a" * 65536 + b'"}'
    with backend(sqlite_path, limits, protocol) as server, sockets(server, 1) as (sock,):
        sock.setblocking(True)
        sock.sendall(
            b"POST /api/v1/nothing-here HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + b"Content-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
            + b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        )
        sock.setblocking(False)
        received: dict[int, bytes] = {}

        wait_for(lambda: _assert(read_until_closed(sock, received)), timeout=10, interval=0.05)
        answers = received[sock.fileno()]
        assert answers.startswith(b"HTTP/1.1 404 "), answers[:200]
        assert b"HTTP/1.1 200 " in answers, answers[:400]


def test_httptools_is_the_default_protocol_when_installed_and_h11_the_fallback() -> None:
    from uvicorn.protocols.http.h11_impl import H11Protocol
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from learninngest.serving.limits import bounded_protocol

    assert issubclass(bounded_protocol(ServerLimits()), HttpToolsProtocol)  # a dependency of the kit
    assert issubclass(bounded_protocol(ServerLimits(), "h11"), H11Protocol)
    with pytest.raises(ValueError, match="h11"):
        bounded_protocol(ServerLimits(), "h2")


def test_a_websocket_outlives_the_head_deadline(protocol: str) -> None:
    # The engine's connect gateway keeps a worker's WebSocket open for hours; the head
    # deadline, armed when the connection opened, once closed it after header_timeout_s.
    app = FastAPI()

    @app.websocket("/echo")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        while True:
            await ws.send_text(await ws.receive_text())

    # Long enough for the handshake's head to arrive on a loaded machine (the deadline applies
    # to it), short enough that the hold below spans three of them.
    limits = ServerLimits(header_timeout_s=1.0)
    with (
        BackgroundServer(app, name="ws", limits=limits, protocol=protocol) as server,
        connect(f"ws://{server.host}:{server.port}/echo", open_timeout=5) as ws,
    ):
        ws.send("before")
        assert ws.recv(timeout=5) == "before"
        time.sleep(3.0)  # three head deadlines: a closed socket would fail the next recv
        ws.send("after")
        assert ws.recv(timeout=5) == "after"
