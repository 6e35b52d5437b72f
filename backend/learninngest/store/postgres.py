"""PostgreSQL result store (`postgresql://user:pass@host:port/db`), with psycopg 3 (async).

Shared by every backend replica, like Redis, but durable and queryable. Each operation
is one statement or one short transaction; `finish` locks its row (SELECT … FOR UPDATE),
so concurrent finishers have one winner, and it sends NOTIFY on the `learninngest_finished`
channel inside the same transaction: every replica's long-polls (api/waiters.py) wake
when it commits. The schema comes from numbered migrations (store/postgres_schema.py),
applied on first use or by `learninngest db upgrade`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from learninngest.migrations import pending
from learninngest.retention import DEFAULT_RETENTION_S
from learninngest.store.base import ChatRecord, Purged, Status, StoreUnavailable, Wakeups, utcnow
from learninngest.store.finishing import check_finish_fields, finished, redact_url
from learninngest.store.postgres_schema import ADVISORY_LOCK_ID, CREATE_VERSION_TABLE, MIGRATIONS

T = TypeVar("T")

CONNECT_TIMEOUT_S = 3
"""An unreachable database must fail a readiness check quickly, not hang the request."""
POOL_MAX_SIZE = 10
PENDING_LOCK_CLASS = 742_091
"""First key of the per-owner advisory locks of create(max_pending=…); the migrations' lock is
a single 64-bit key, a space the two-key form does not share."""
FINISHED_CHANNEL = "learninngest_finished"

_COLUMNS = (
    "request_id",
    "status",
    "query",
    "content",
    "error",
    "model",
    "usage",
    "attempts",
    "event_ids",
    "created_at",
    "completed_at",
    "owner",
)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM chat_records WHERE request_id = %s"


class PostgresStore:
    wakeups = Wakeups.publish

    def __init__(self, url: str, *, retention_s: float = DEFAULT_RETENTION_S) -> None:
        self.url = url
        self.retention_s = retention_s
        # Like redis.asyncio, psycopg's async connections belong to the loop that opened them:
        # the backend (uvicorn's thread) and a notebook cell each get a pool.
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncConnectionPool] = (
            weakref.WeakKeyDictionary()
        )
        self._migrated = False

    # --- plumbing
    @contextlib.contextmanager
    def _reachable(self) -> Iterator[None]:
        try:
            yield
        except (psycopg.OperationalError, PoolTimeout, OSError) as exc:
            raise StoreUnavailable(f"result store {redact_url(self.url)} is unreachable: {exc}") from exc

    async def _pool(self) -> AsyncConnectionPool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = AsyncConnectionPool(
                self.url,
                min_size=1,
                max_size=POOL_MAX_SIZE,
                kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
                timeout=CONNECT_TIMEOUT_S * 2,
                open=False,
            )
            self._pools[loop] = pool
            await pool.open(wait=False)
        return pool

    async def _call(self, operation: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
        with self._reachable():
            pool = await self._pool()
            if not self._migrated:
                async with pool.connection() as conn:
                    await _upgrade(conn)
                self._migrated = True
            async with pool.connection() as conn:
                return await operation(conn)

    async def upgrade(self) -> list[int]:
        """Apply the migrations this database lacks; return their numbers (idempotent)."""
        with self._reachable():
            async with await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            ) as conn:
                applied = await _upgrade(conn)
        self._migrated = True
        return applied

    # --- the ResultStore interface
    async def create(self, record: ChatRecord, *, max_pending: int = 0) -> bool:
        sql = (
            f"INSERT INTO chat_records ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
            " ON CONFLICT (request_id) DO NOTHING"
        )
        if not max_pending or record.owner is None:
            await self._call(lambda conn: conn.execute(sql, _to_row(record)))
            return True
        owner = record.owner

        async def reserve(conn: psycopg.AsyncConnection[Any]) -> bool:
            # Under READ COMMITTED two transactions could both count N-1: a per-owner advisory
            # lock, held until commit, makes every replica's reservations for one owner queue.
            async with conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (PENDING_LOCK_CLASS, owner)
                )
                if await _select(conn, record.request_id) is not None:
                    return True
                count = "SELECT count(*) FROM chat_records WHERE owner = %s AND status = 'pending'"
                row = await (await conn.execute(count, (owner,))).fetchone()
                if row is not None and int(row[0]) >= max_pending:
                    return False
                await conn.execute(sql, _to_row(record))
                return True

        return await self._call(reserve)

    async def get(self, request_id: str) -> ChatRecord | None:
        async def operation(conn: psycopg.AsyncConnection[Any]) -> ChatRecord | None:
            return await _select(conn, request_id)

        return await self._call(operation)

    async def set_event_ids(self, request_id: str, event_ids: list[str]) -> None:
        sql = "UPDATE chat_records SET event_ids = %s WHERE request_id = %s"
        await self._call(lambda conn: conn.execute(sql, (Jsonb(list(event_ids)), request_id)))

    async def add_event_ids(self, request_id: str, event_ids: list[str]) -> None:
        # One statement: append, in order, the ids the record does not have yet.
        sql = """
            UPDATE chat_records SET event_ids = event_ids || COALESCE((
                SELECT jsonb_agg(new.id ORDER BY new.n) FROM jsonb_array_elements(%s) WITH ORDINALITY
                    AS new(id, n)
                WHERE NOT chat_records.event_ids @> jsonb_build_array(new.id)
            ), '[]'::jsonb)
            WHERE request_id = %s
        """
        unique = list(dict.fromkeys(event_ids))
        await self._call(lambda conn: conn.execute(sql, (Jsonb(unique), request_id)))

    async def count_attempt(self, request_id: str) -> int | None:
        sql = (
            "UPDATE chat_records SET attempts = COALESCE(attempts, 0) + 1"
            " WHERE request_id = %s AND status = 'pending' RETURNING attempts"
        )

        async def operation(conn: psycopg.AsyncConnection[Any]) -> int | None:
            row = await (await conn.execute(sql, (request_id,))).fetchone()
            return int(row[0]) if row is not None else None

        return await self._call(operation)

    async def pending_before(self, cutoff: datetime, limit: int) -> list[ChatRecord]:
        sql = (
            f"SELECT {', '.join(_COLUMNS)} FROM chat_records WHERE status = 'pending' AND created_at < %s"
            " ORDER BY created_at LIMIT %s"
        )

        async def operation(conn: psycopg.AsyncConnection[Any]) -> list[ChatRecord]:
            async with conn.cursor(row_factory=dict_row) as cursor:
                await cursor.execute(sql, (cutoff, limit))
                return [_from_row(row) for row in await cursor.fetchall()]

        return await self._call(operation)

    async def finish(self, request_id: str, **fields: Any) -> ChatRecord | None:
        check_finish_fields(fields)

        async def operation(conn: psycopg.AsyncConnection[Any]) -> ChatRecord | None:
            async with conn.transaction():
                record = await _select(conn, request_id, lock=True)
                if record is None or record.final:
                    return record
                done = finished(record, fields)
                row = _to_row(done)
                assignments = ", ".join(f"{column} = %s" for column in _COLUMNS[1:])
                await conn.execute(
                    f"UPDATE chat_records SET {assignments} WHERE request_id = %s", (*row[1:], request_id)
                )
                # Delivered when the transaction commits, to every replica that LISTENs.
                await conn.execute("SELECT pg_notify(%s, %s)", (FINISHED_CHANNEL, request_id))
                return done

        return await self._call(operation)

    async def claim_idempotency_key(self, key: str, request_id: str, ttl_s: int) -> str:
        # One statement: bind the key unless a live binding exists (an expired one is taken
        # over); the row lock of ON CONFLICT makes concurrent claims queue, so one wins.
        sql = """
            INSERT INTO idempotency_keys AS k (key, request_id, expires_at)
            VALUES (%s, %s, now() + make_interval(secs => %s))
            ON CONFLICT (key) DO UPDATE SET request_id = excluded.request_id, expires_at = excluded.expires_at
                WHERE k.expires_at <= now()
            RETURNING request_id
        """

        async def operation(conn: psycopg.AsyncConnection[Any]) -> str:
            while True:
                row = await (await conn.execute(sql, (key, request_id, ttl_s))).fetchone()
                if row is not None:
                    return str(row[0])  # we bound it
                bound = await (
                    await conn.execute(
                        "SELECT request_id FROM idempotency_keys WHERE key = %s AND expires_at > now()",
                        (key,),
                    )
                ).fetchone()
                if bound is not None:
                    return str(bound[0])
                # It expired between the two statements: try to take it again.

        return await self._call(operation)

    async def release_idempotency_key(self, key: str, request_id: str) -> None:
        sql = "DELETE FROM idempotency_keys WHERE key = %s AND request_id = %s"
        await self._call(lambda conn: conn.execute(sql, (key, request_id)))

    async def count_pending(self, owner: str) -> int:
        sql = "SELECT count(*) FROM chat_records WHERE owner = %s AND status = 'pending'"

        async def operation(conn: psycopg.AsyncConnection[Any]) -> int:
            row = await (await conn.execute(sql, (owner,))).fetchone()
            return int(row[0]) if row else 0

        return await self._call(operation)

    async def hit(self, bucket: str, window_s: int) -> tuple[int, float]:
        now = time.time()
        window_no = int(now // window_s)
        reset_s = (window_no + 1) * window_s - now
        # One statement: a new window starts from 1, the current one counts up.
        sql = """
            INSERT INTO rate_counters AS c (bucket, window_no, hits, expires_at)
            VALUES (%s, %s, 1, now() + make_interval(secs => %s))
            ON CONFLICT (bucket) DO UPDATE SET
                hits = CASE WHEN c.window_no = excluded.window_no THEN c.hits + 1 ELSE 1 END,
                window_no = excluded.window_no,
                expires_at = excluded.expires_at
            RETURNING hits
        """

        async def operation(conn: psycopg.AsyncConnection[Any]) -> int:
            row = await (await conn.execute(sql, (bucket, window_no, reset_s))).fetchone()
            return int(row[0]) if row else 1

        return await self._call(operation), reset_s

    async def purge(self) -> Purged:
        cutoff = utcnow() - timedelta(seconds=self.retention_s)

        async def operation(conn: psycopg.AsyncConnection[Any]) -> Purged:
            records = await conn.execute(
                "DELETE FROM chat_records WHERE status <> 'pending' AND completed_at < %s", (cutoff,)
            )
            keys = await conn.execute("DELETE FROM idempotency_keys WHERE expires_at <= now()")
            await conn.execute("DELETE FROM rate_counters WHERE expires_at <= now()")
            return Purged(records=max(records.rowcount, 0), keys=max(keys.rowcount, 0))

        return await self._call(operation)

    async def finished_ids(self, on_subscribed: Callable[[], None] | None = None) -> AsyncIterator[str]:
        """Every request id finished from now on, by any replica (LISTEN); `on_subscribed`
        runs once listening. Ends with StoreUnavailable when the database goes away."""
        with self._reachable():
            # A connection of its own, outside the pool: it stays in LISTEN for as long as we hear.
            async with await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            ) as conn:
                await conn.execute(f"LISTEN {FINISHED_CHANNEL}")
                if on_subscribed is not None:
                    on_subscribed()
                async for notice in conn.notifies():
                    yield notice.payload

    async def ping(self) -> None:
        await self._call(lambda conn: conn.execute("SELECT 1 FROM chat_records LIMIT 1"))

    async def close(self) -> None:
        pools = list(self._pools.items())
        self._pools.clear()
        current = asyncio.get_running_loop()
        for loop, pool in pools:
            if loop is current:  # a pool can only be closed on its own loop
                await pool.close()

    def __repr__(self) -> str:
        return f"<PostgresStore {redact_url(self.url)}>"


async def _upgrade(conn: psycopg.AsyncConnection[Any]) -> list[int]:
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_ID,))
        await conn.execute(CREATE_VERSION_TABLE)
        rows = await (await conn.execute("SELECT version FROM learninngest_migrations")).fetchall()
        for step in pending(MIGRATIONS, (int(row[0]) for row in rows)):
            await conn.execute(step.sql)
            await conn.execute("INSERT INTO learninngest_migrations (version) VALUES (%s)", (step.version,))
            applied.append(step.version)
    return applied


def _to_row(record: ChatRecord) -> tuple[Any, ...]:
    return (
        record.request_id,
        record.status.value,
        record.query,
        record.content,
        record.error,
        record.model,
        Jsonb(record.usage) if record.usage is not None else None,
        record.attempts,
        Jsonb(record.event_ids),
        record.created_at,
        record.completed_at,
        record.owner,
    )


async def _select(
    conn: psycopg.AsyncConnection[Any], request_id: str, *, lock: bool = False
) -> ChatRecord | None:
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(_SELECT + (" FOR UPDATE" if lock else ""), (request_id,))
        row = await cursor.fetchone()
    return _from_row(row) if row is not None else None


def _from_row(row: dict[str, Any]) -> ChatRecord:
    return ChatRecord.model_validate(row | {"status": Status(row["status"])})
