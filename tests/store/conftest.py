"""Fixtures for the store contract suite: one `store` per backend, including real servers.

Redis is the real `redis-server` of tests/redis_server.py (the `redis_url` fixture) and
PostgreSQL the real server of tests/postgres_server.py (`postgres_url`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
import redis

from learninngest.store import ResultStore, open_store

BACKENDS = ["sqlite", "memory", "redis", "postgres"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _flush(url: str) -> None:
    # Every test starts from an empty database, as every SQLite test gets its own file.
    with redis.Redis.from_url(url) as client:
        client.flushdb()


def empty_postgres(url: str) -> None:
    """Drop the store's tables, so each test starts from nothing and runs the migrations."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "DROP TABLE IF EXISTS chat_records, idempotency_keys, rate_counters, learninngest_migrations"
        )


@pytest.fixture
def store_url(request: pytest.FixtureRequest, sqlite_path: Path) -> str:
    backend = request.param
    if backend == "sqlite":
        return f"sqlite:///{sqlite_path}"
    if backend == "memory":
        return "memory://"
    if backend == "postgres":
        url = request.getfixturevalue("postgres_url")
        empty_postgres(url)
        return url
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
