"""Fixtures for the store contract suite: one `store` per backend, including a real redis-server.

Redis is the real `redis-server` of tests/redis_server.py (the `redis_url` fixture).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis

from learninngest.store import ResultStore, open_store

BACKENDS = ["sqlite", "memory", "redis"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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
