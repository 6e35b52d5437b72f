"""Fixtures for the store contract suite: one `store` per backend, including a real redis-server.

Redis runs as a real `redis-server` on 127.0.0.1 and a free port, never a mock: the
suite checks WATCH/MULTI and SET NX EX as Redis really does them.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from learninngest.store import ResultStore, open_store

BACKENDS = ["sqlite", "memory", "redis"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throw-away redis-server for the whole session (no persistence, own port)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed; CI installs it")
    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    log_path = folder / "redis.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_ping(port, process, log_path)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def free_port() -> int:
    """A port nobody listens on (as kit.servers.free_port; the store must not need the kit)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_ping(port: int, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 15
    with redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited early; its log:\n{log_path.read_text()}")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"redis-server not answering PING on {port}; log:\n{log_path.read_text()}"
                    ) from None
            time.sleep(0.05)


def _flush(url: str) -> None:
    # Every test starts from an empty database, as every SQLite test gets its own file.
    with redis.Redis.from_url(url) as client:
        client.flushdb()


@pytest.fixture
def store_url(request: pytest.FixtureRequest, sqlite_path: Path) -> str:
    backend = request.param
    if backend == "sqlite":
        return f"sqlite:///{sqlite_path}"
    if backend == "memory":
        return "memory://"
    url = request.getfixturevalue("redis_url")
    _flush(url)
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[ResultStore]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        await opened.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Any test that asks for `store` (or `store_url`) runs once per backend.
    if "store_url" in metafunc.fixturenames:
        metafunc.parametrize("store_url", BACKENDS, indirect=True)
