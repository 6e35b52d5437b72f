"""The SQLite store keeps one connection per thread (store/sqlite_connections.py)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from pathlib import Path

import pytest

from learninngest.store.base import ChatRecord, Status, StoreUnavailable
from learninngest.store.sqlite import SQLiteStore
from learninngest.store.sqlite_connections import ThreadConnections


def _in_thread(connections: ThreadConnections) -> sqlite3.Connection:
    got: list[sqlite3.Connection] = []
    thread = threading.Thread(target=lambda: got.append(connections.get()))
    thread.start()
    thread.join()
    return got[0]


def _closed(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def _connect() -> sqlite3.Connection:
    return sqlite3.connect(":memory:", check_same_thread=False)


def test_a_thread_keeps_its_connection_and_another_thread_gets_its_own() -> None:
    connections = ThreadConnections(_connect)
    mine = connections.get()
    assert connections.get() is mine
    theirs = _in_thread(connections)
    assert theirs is not mine
    connections.close()
    assert _closed(mine) and _closed(theirs)
    assert connections.get() is not mine  # after close(), a new one


def test_the_connection_of_an_ended_thread_is_closed_when_the_next_one_opens() -> None:
    connections = ThreadConnections(_connect)
    ended = _in_thread(connections)
    assert not _closed(ended)
    _in_thread(connections)
    assert _closed(ended)
    assert connections.count == 1
    connections.close()


def test_discard_closes_this_threads_connection_only() -> None:
    connections = ThreadConnections(_connect)
    mine = connections.get()
    connections.discard()
    assert _closed(mine) and connections.count == 0
    assert not _closed(connections.get())
    connections.close()


def test_dropped_connections_object_closes_its_connections() -> None:
    connections = ThreadConnections(_connect)
    conn = connections.get()
    del connections
    assert _closed(conn)


@pytest.mark.anyio
async def test_a_kept_connection_sees_what_other_connections_write(sqlite_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{sqlite_path}")
    await store.create(ChatRecord(request_id="r1", query="q"))
    assert (await store.get("r1")).status is Status.pending  # type: ignore[union-attr]
    # Another process finishes it (a second backend process, a worker).
    with contextlib.closing(sqlite3.connect(sqlite_path, isolation_level=None)) as other:
        other.execute("UPDATE chat_records SET status = 'done', content = 'Paris' WHERE request_id = 'r1'")
    for _ in range(20):  # whichever of the executor's threads (and connections) reads it
        assert (await store.get("r1")).content == "Paris"  # type: ignore[union-attr]
    await store.close()


@pytest.mark.anyio
async def test_store_connections_sync_at_checkpoints_not_at_every_commit(sqlite_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{sqlite_path}")
    await store.create(ChatRecord(request_id="r1", query="q"))
    modes = store._call(
        lambda conn: (
            conn.execute("PRAGMA journal_mode").fetchone()[0],
            conn.execute("PRAGMA synchronous").fetchone()[0],
        )
    )
    print("journal mode, synchronous:", modes)
    assert modes == ("wal", 1)  # 1 = NORMAL (2 = FULL, SQLite's default)
    await store.close()


@pytest.mark.anyio
async def test_operations_run_on_the_stores_own_few_threads(sqlite_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{sqlite_path}")
    writer = await store._write(lambda _conn: threading.current_thread().name)
    reader = await store._run(lambda _conn: threading.current_thread().name)
    print("write on", writer, "- read on", reader)
    assert writer.startswith("sqlite-store-write") and reader.startswith("sqlite-store-read")
    # Many at once still use the same three threads, so three connections at most.
    ids = [f"r{n}" for n in range(40)]
    await asyncio.gather(*(store.create(ChatRecord(request_id=i, query="q")) for i in ids))
    records = await asyncio.gather(*(store.get(i) for i in ids))
    print("connections open:", store._connections.count)
    assert all(r is not None for r in records) and store._connections.count <= 3
    await store.close()


@pytest.mark.anyio
async def test_the_store_works_again_after_close_and_after_an_error(sqlite_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{sqlite_path}")
    await store.create(ChatRecord(request_id="r1"))
    await store.close()
    assert await store.get("r1") is not None

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("SELECT x FROM nowhere")

    with pytest.raises(StoreUnavailable, match="no such table"):
        store._call(broken)  # the connection is dropped: the next operation opens another
    assert await store.get("r1") is not None
    await store.close()
