"""The default result store: one SQLite file (`sqlite:///relative.db`, `sqlite:////abs.db`).

It survives restarts and may be shared by several processes (the backend, a worker, a
notebook). Every operation runs in a worker thread, so the event loop never waits on disk
or on another writer's lock, on a connection that thread keeps open for its next
operations (store/sqlite_connections.py). The threads are the stores' own, not the loop's
default executor: one for writes (a process's writes take their turns on it) and two for
reads, shared by the SQLite stores of the process and kept warm, with their connections,
from one request to the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from learninngest.migrations import Step, add_column, migrate_sqlite
from learninngest.retention import DEFAULT_RETENTION_S
from learninngest.store.base import (
    ChatRecord,
    Purged,
    Status,
    StoreUnavailable,
    Wakeups,
    utcnow,
)
from learninngest.store.finishing import check_finish_fields, finished
from learninngest.store.sqlite_connections import ThreadConnections

T = TypeVar("T")

# Threads are made on first use. One writer: a process's writes queue for it in order rather
# than meet on SQLite's own busy handler, which sleeps and retries (1, 2, 5… ms). Two readers:
# reads never wait for a lock (WAL).
_WRITER = ThreadPoolExecutor(1, thread_name_prefix="sqlite-store-write")
_READERS = ThreadPoolExecutor(2, thread_name_prefix="sqlite-store-read")

SCHEME = "sqlite:///"
BUSY_TIMEOUT_MS = 10_000
"""How long a writer waits for another process's write lock before giving up."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chat_records (
    request_id   TEXT PRIMARY KEY,
    status       TEXT NOT NULL,
    query        TEXT NOT NULL,
    content      TEXT,
    error        TEXT,
    model        TEXT,
    usage        TEXT,            -- JSON object or NULL
    attempts     INTEGER,
    event_ids    TEXT NOT NULL,   -- JSON list
    created_at   TEXT NOT NULL,   -- ISO 8601, UTC
    completed_at TEXT
);
CREATE INDEX IF NOT EXISTS chat_records_by_completion ON chat_records (completed_at);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key        TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    expires_at REAL NOT NULL      -- unix time: wall clock, because other processes compare it
);
CREATE TABLE IF NOT EXISTS rate_counters (
    bucket    TEXT PRIMARY KEY,
    window_no INTEGER NOT NULL,
    hits      INTEGER NOT NULL,
    ends_at   REAL NOT NULL       -- unix time the window ends
);
-- the reconciler's question: which requests are still pending, oldest first
CREATE INDEX IF NOT EXISTS chat_records_pending ON chat_records (status, created_at);
"""
# Changes to results.db files made before (_SCHEMA is the current shape), so an old one keeps working.
MIGRATIONS = (
    Step(
        1,
        "chat_records: the process that owns a pending request",
        apply=add_column("chat_records", "owner", "TEXT"),
    ),
)
_COLUMNS = (
    "request_id, status, query, content, error, model, usage, attempts, event_ids, created_at, completed_at,"
    " owner"
)
_ASSIGNMENTS = ", ".join(f"{column.strip()} = ?" for column in _COLUMNS.split(",")[1:])


def path_from_url(url: str) -> Path:
    """`sqlite:///a/b.db` -> ./a/b.db (relative), `sqlite:////a/b.db` -> /a/b.db."""
    if not url.startswith(SCHEME):
        raise ValueError(f"RESULT_STORE_URL: a SQLite URL looks like sqlite:///path.db, got {url!r}")
    raw = url[len(SCHEME) :].split("?", 1)[0]
    if not raw or raw == ":memory:":
        raise ValueError(
            f"RESULT_STORE_URL: {url!r} names no file; use sqlite:///path.db, or memory:// "
            "for an in-process store"
        )
    # Resolved once, so a later chdir (tests, notebooks) does not move the database.
    return Path(raw).expanduser().resolve()


class SQLiteStore:
    # Another process (a second backend, a worker, a notebook) may write the same file and
    # cannot tell us: a long-poll re-reads it now and then.
    wakeups = Wakeups.poll

    def __init__(self, url: str, *, retention_s: float = DEFAULT_RETENTION_S) -> None:
        self.url = url
        self.retention_s = retention_s
        self.path = path_from_url(url)
        self._init_lock = threading.Lock()
        self._initialised = False
        self._connections = ThreadConnections(self._connect)

    # --- plumbing
    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we say BEGIN ourselves where a read-modify-write must be atomic.
        # check_same_thread=False only so that close() may close it from another thread: each
        # connection is used by the one thread that opened it (sqlite_connections.py).
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit survives a
        # crash of any process, and only a power loss may undo the last ones (the engine's
        # state makes the same choice). FULL's fsync per commit was ~1/3 of an operation's CPU.
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _initialise(self) -> None:
        with self._init_lock:
            if self._initialised:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect()
            try:
                # WAL lets readers (GET result) go on while a worker writes.
                conn.execute("PRAGMA journal_mode = WAL")
                migrate_sqlite(conn, _SCHEMA, MIGRATIONS)  # one process at a time (BEGIN IMMEDIATE)
            finally:
                conn.close()
            self._initialised = True

    def _call(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        try:
            self._initialise()
            conn = self._connections.get()
            try:
                return operation(conn)
            except BaseException:
                # Whatever went wrong (a locked file, a file gone), the next try starts afresh.
                self._connections.discard()
                raise
        except (sqlite3.OperationalError, OSError) as exc:
            raise StoreUnavailable(f"result store {self.url} cannot be used: {exc}") from exc

    async def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(_READERS, self._call, operation)

    async def _write(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(_WRITER, self._call, operation)

    # --- the ResultStore interface
    async def create(self, record: ChatRecord, *, max_pending: int = 0) -> bool:
        row = _to_row(record)
        sql = f"INSERT OR IGNORE INTO chat_records ({_COLUMNS}) VALUES ({', '.join('?' * len(row))})"
        if not max_pending or record.owner is None:
            await self._write(lambda conn: conn.execute(sql, row))
            return True

        def reserve(conn: sqlite3.Connection) -> bool:
            # BEGIN IMMEDIATE holds the file's write lock from the count to the insert, so no
            # other writer (thread or process) can slip a record in between.
            with _write_transaction(conn):
                if _select(conn, record.request_id) is not None:
                    return True
                count = "SELECT COUNT(*) FROM chat_records WHERE owner = ? AND status = 'pending'"
                if int(conn.execute(count, (record.owner,)).fetchone()[0]) >= max_pending:
                    return False
                conn.execute(sql, row)
                return True

        return await self._write(reserve)

    async def get(self, request_id: str) -> ChatRecord | None:
        return await self._run(lambda conn: _select(conn, request_id))

    async def set_event_ids(self, request_id: str, event_ids: list[str]) -> None:
        sql = "UPDATE chat_records SET event_ids = ? WHERE request_id = ?"
        await self._write(lambda conn: conn.execute(sql, (json.dumps(list(event_ids)), request_id)))

    async def add_event_ids(self, request_id: str, event_ids: list[str]) -> None:
        def operation(conn: sqlite3.Connection) -> None:
            with _write_transaction(conn):
                row = conn.execute(
                    "SELECT event_ids FROM chat_records WHERE request_id = ?", (request_id,)
                ).fetchone()
                if row is None:
                    return
                known = json.loads(row[0])
                merged = known + [i for i in event_ids if i not in known]
                conn.execute(
                    "UPDATE chat_records SET event_ids = ? WHERE request_id = ?",
                    (json.dumps(merged), request_id),
                )

        await self._write(operation)

    async def count_attempt(self, request_id: str) -> int | None:
        sql = (
            "UPDATE chat_records SET attempts = COALESCE(attempts, 0) + 1"
            " WHERE request_id = ? AND status = 'pending' RETURNING attempts"
        )

        def operation(conn: sqlite3.Connection) -> int | None:
            row = conn.execute(sql, (request_id,)).fetchone()
            return int(row[0]) if row is not None else None

        return await self._write(operation)

    async def pending_before(self, cutoff: datetime, limit: int) -> list[ChatRecord]:
        # created_at is ISO 8601 in UTC, so text order is time order.
        sql = (
            f"SELECT {_COLUMNS} FROM chat_records WHERE status = 'pending' AND created_at < ?"
            " ORDER BY created_at LIMIT ?"
        )
        since = cutoff.astimezone(UTC).isoformat()
        rows = await self._run(lambda conn: conn.execute(sql, (since, limit)).fetchall())
        return [_from_row(row) for row in rows]

    async def finish(self, request_id: str, **fields: Any) -> ChatRecord | None:
        check_finish_fields(fields)

        def operation(conn: sqlite3.Connection) -> ChatRecord | None:
            with _write_transaction(conn):
                record = _select(conn, request_id)
                if record is None or record.final:
                    return record
                done = finished(record, fields)
                row = _to_row(done)
                conn.execute(
                    f"UPDATE chat_records SET {_ASSIGNMENTS} WHERE request_id = ?",
                    (*row[1:], request_id),
                )
                return done

        return await self._write(operation)

    async def claim_idempotency_key(self, key: str, request_id: str, ttl_s: int) -> str:
        def operation(conn: sqlite3.Connection) -> str:
            now = time.time()
            with _write_transaction(conn):
                # Bind the key unless a live binding exists; an expired one is taken over.
                conn.execute(
                    "INSERT INTO idempotency_keys (key, request_id, expires_at) VALUES (?, ?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET request_id = excluded.request_id,"
                    " expires_at = excluded.expires_at WHERE idempotency_keys.expires_at <= ?",
                    (key, request_id, now + ttl_s, now),
                )
                row = conn.execute("SELECT request_id FROM idempotency_keys WHERE key = ?", (key,)).fetchone()
                return str(row[0])

        return await self._write(operation)

    async def release_idempotency_key(self, key: str, request_id: str) -> None:
        sql = "DELETE FROM idempotency_keys WHERE key = ? AND request_id = ?"
        await self._write(lambda conn: conn.execute(sql, (key, request_id)))

    async def count_pending(self, owner: str) -> int:
        sql = "SELECT COUNT(*) FROM chat_records WHERE owner = ? AND status = 'pending'"
        return await self._run(lambda conn: int(conn.execute(sql, (owner,)).fetchone()[0]))

    async def hit(self, bucket: str, window_s: int) -> tuple[int, float]:
        now = time.time()
        window_no = int(now // window_s)
        ends_at = (window_no + 1) * window_s
        # One statement: a new window starts from 1, the current one counts up.
        sql = (
            "INSERT INTO rate_counters (bucket, window_no, hits, ends_at) VALUES (?, ?, 1, ?)"
            " ON CONFLICT(bucket) DO UPDATE SET"
            " hits = CASE WHEN window_no = excluded.window_no THEN hits + 1 ELSE 1 END,"
            " window_no = excluded.window_no, ends_at = excluded.ends_at RETURNING hits"
        )
        hits = await self._write(
            lambda conn: int(conn.execute(sql, (bucket, window_no, ends_at)).fetchone()[0])
        )
        return hits, ends_at - now

    async def purge(self) -> Purged:
        cutoff = (utcnow() - timedelta(seconds=self.retention_s)).isoformat()

        def operation(conn: sqlite3.Connection) -> Purged:
            # ISO 8601 UTC text sorts like the times it names, so the index can be used.
            records = conn.execute(
                "DELETE FROM chat_records WHERE status != 'pending' AND completed_at < ?", (cutoff,)
            ).rowcount
            keys = conn.execute("DELETE FROM idempotency_keys WHERE expires_at <= ?", (time.time(),)).rowcount
            conn.execute("DELETE FROM rate_counters WHERE ends_at <= ?", (time.time(),))
            return Purged(records=records, keys=keys)

        return await self._write(operation)

    async def ping(self) -> None:
        await self._run(lambda conn: conn.execute("SELECT 1 FROM chat_records LIMIT 1"))

    async def close(self) -> None:
        self._connections.close()

    def __repr__(self) -> str:
        return f"<SQLiteStore {self.path}>"


@contextlib.contextmanager
def _write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock before the read, so two finishers (or claimers) cannot
    # both see the old value: the second waits (busy_timeout), then sees the first one's write.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _to_row(record: ChatRecord) -> tuple[Any, ...]:
    return (
        record.request_id,
        record.status.value,
        record.query,
        record.content,
        record.error,
        record.model,
        json.dumps(record.usage) if record.usage is not None else None,
        record.attempts,
        json.dumps(record.event_ids),
        record.created_at.isoformat(),
        record.completed_at.isoformat() if record.completed_at else None,
        record.owner,
    )


def _select(conn: sqlite3.Connection, request_id: str) -> ChatRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM chat_records WHERE request_id = ?", (request_id,)).fetchone()
    return _from_row(row) if row is not None else None


def _from_row(row: tuple[Any, ...]) -> ChatRecord:
    (rid, status, query, content, error, model, usage, attempts, event_ids, created, completed, owner) = row
    return ChatRecord(
        request_id=rid,
        status=Status(status),
        query=query,
        content=content,
        error=error,
        model=model,
        usage=json.loads(usage) if usage is not None else None,
        attempts=attempts,
        event_ids=json.loads(event_ids),
        created_at=datetime.fromisoformat(created),
        completed_at=datetime.fromisoformat(completed) if completed else None,
        owner=owner,
    )
