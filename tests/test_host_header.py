"""An HTTP/1.1 request without Host (or with two) is a 400 on every kit server (host_header.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer, free_port


@pytest.fixture(params=["httptools", "h11"])
def backend(request: pytest.FixtureRequest, sqlite_path: Path) -> Iterator[BackgroundServer]:
    settings = get_settings(port=free_port(), result_store_url=f"sqlite:///{sqlite_path}")
    app = create_app(settings)
    with BackgroundServer(app, name="backend", port=settings.port, protocol=request.param) as server:
        yield server


def status_of(server: BackgroundServer, head: bytes) -> int:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(head)
        reply = b""
        while b"\r\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def test_http_11_without_host_is_400(backend: BackgroundServer) -> None:
    assert status_of(backend, b"GET /healthz HTTP/1.1\r\n\r\n") == 400


def test_two_host_headers_are_400(backend: BackgroundServer) -> None:
    assert status_of(backend, b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400


def test_http_11_with_host_and_http_10_without_are_served(backend: BackgroundServer) -> None:
    assert status_of(backend, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") == 200
    assert status_of(backend, b"GET /healthz HTTP/1.0\r\n\r\n") == 200
