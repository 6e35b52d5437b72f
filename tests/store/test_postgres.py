"""What only the PostgreSQL store promises: migrations a deploy can run, NOTIFY on finish."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys

import psycopg
import pytest

from learninngest.store import ChatRecord, Status, StoreUnavailable, open_store
from learninngest.store.postgres import PostgresStore
from learninngest.store.postgres_schema import MIGRATIONS
from tests.redis_server import free_port
from tests.store.conftest import empty_postgres

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def url(postgres_url: str) -> str:
    empty_postgres(postgres_url)
    return postgres_url


def _versions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [
            row[0] for row in conn.execute("SELECT version FROM learninngest_migrations ORDER BY version")
        ]


async def test_upgrade_applies_each_migration_once(url: str) -> None:
    store = PostgresStore(url)
    assert await store.upgrade() == list(range(1, len(MIGRATIONS) + 1))
    assert await store.upgrade() == []
    assert _versions(url) == list(range(1, len(MIGRATIONS) + 1))


async def test_replicas_upgrading_at_once_apply_each_migration_once(url: str) -> None:
    results = await asyncio.gather(*(PostgresStore(url).upgrade() for _ in range(5)))
    assert sorted(len(applied) for applied in results) == [0, 0, 0, 0, len(MIGRATIONS)]
    assert _versions(url) == list(range(1, len(MIGRATIONS) + 1))


def test_db_upgrade_command(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESULT_STORE_URL", url)
    command = [sys.executable, "-m", "learninngest", "db", "upgrade"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    again = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    assert "applied migration(s) [1]" in first.stdout
    assert "schema is up to date" in again.stdout


def test_db_upgrade_command_on_an_unreachable_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESULT_STORE_URL", f"postgresql://app:s3cret@127.0.0.1:{free_port()}/db")
    reply = subprocess.run(
        [sys.executable, "-m", "learninngest", "db", "upgrade"], capture_output=True, text=True, timeout=60
    )
    assert reply.returncode == 1
    assert "is unreachable" in reply.stderr and "Check RESULT_STORE_URL" in reply.stderr
    assert "s3cret" not in reply.stderr  # the password is never shown


async def test_an_unreachable_database_is_store_unavailable() -> None:
    store = open_store(f"postgresql://app:s3cret@127.0.0.1:{free_port()}/db")
    try:
        with pytest.raises(StoreUnavailable, match="unreachable") as info:
            await store.ping()
        assert "s3cret" not in str(info.value)
    finally:
        await store.close()


async def test_every_listener_hears_a_finish_when_it_commits(url: str) -> None:
    writer, listener = open_store(url), open_store(url)
    heard: list[str] = []
    listening = asyncio.Event()

    async def listen() -> None:
        async for request_id in listener.finished_ids(on_subscribed=listening.set):  # type: ignore[attr-defined]
            heard.append(request_id)
            return

    task = asyncio.create_task(listen())
    try:
        await asyncio.wait_for(listening.wait(), 30)
        await writer.create(ChatRecord(request_id="r1", query="q"))
        await writer.finish("r1", status=Status.done, content="Paris")
        await asyncio.wait_for(task, 30)
        assert heard == ["r1"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await writer.close()
        await listener.close()
