"""Redis result store (`redis://host:port/db`): shared by every worker process and host.

Records are JSON strings under `<prefix>chat:<request_id>`; idempotency keys are plain
strings under `<prefix>idem:<key>` that Redis itself expires (SET NX EX). A final record
gets a TTL of `retention_s` when it is finished, so Redis expires it too. Each finish is
published on `<prefix>finished` (the request id), so a long-poll in any process wakes at
once (api/waiters.py holds one subscription per process). A record with an owner (an API
key's name) is also listed in the set `<prefix>owner-pending:<owner>` until it is finished, which
is what the per-key limit of pending requests counts; rate-limit counters are plain
counters under `<prefix>rate:<bucket>:<window>` that expire with their window.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from learninngest.retention import DEFAULT_RETENTION_S
from learninngest.store.base import ChatRecord, Purged, Status, StoreUnavailable, Wakeups
from learninngest.store.finishing import check_finish_fields, finished, redact_url
from learninngest.store.redis_clients import (
    CONNECT_TIMEOUT_S,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_POOL_TIMEOUT_S,
    LoopClients,
    PoolExhausted,
)

T = TypeVar("T")

DEFAULT_PREFIX = "learninngest:"
"""An unreachable Redis must fail a readiness check quickly, not hang the request."""


_RELEASE_IF_BOUND_TO = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


# KEYS: the record, the pending index[, the owner's pending set]; ARGV: JSON, id, created, max.
# A record that exists is left as it is (and was counted when it was made): 1. At the limit: 0.
_CREATE_WITHIN_LIMIT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[2])
  return 1
end
local most = tonumber(ARGV[4])
if KEYS[3] and most > 0 and redis.call('SCARD', KEYS[3]) >= most then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[2])
if KEYS[3] then redis.call('SADD', KEYS[3], ARGV[2]) end
return 1
"""


class RedisStore:
    wakeups = Wakeups.publish

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        retention_s: float = DEFAULT_RETENTION_S,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        pool_timeout_s: float = DEFAULT_POOL_TIMEOUT_S,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.retention_s = retention_s
        self._clients = LoopClients(
            url,
            socket_timeout_s=CONNECT_TIMEOUT_S * 2,
            max_connections=max_connections,
            pool_timeout_s=pool_timeout_s,
        )

    def _client(self) -> aioredis.Redis:
        return self._clients.get()

    def _record_key(self, request_id: str) -> str:
        return f"{self.prefix}chat:{request_id}"

    def _idem_key(self, key: str) -> str:
        return f"{self.prefix}idem:{key}"

    def _owner_pending_key(self, owner: str) -> str:
        return f"{self.prefix}owner-pending:{owner}"

    @property
    def finished_channel(self) -> str:
        return f"{self.prefix}finished"

    @contextlib.contextmanager
    def _reachable(self) -> Iterator[None]:
        try:
            yield
        except PoolExhausted as exc:
            raise PoolExhausted(f"result store {redact_url(self.url)} is busy: {exc}") from exc
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise StoreUnavailable(f"result store {redact_url(self.url)} is unreachable: {exc}") from exc

    async def _update(self, request_id: str, change: Callable[[ChatRecord], ChatRecord]) -> ChatRecord | None:
        """Read, change and write one record; WATCH makes a concurrent write restart us."""
        key = self._record_key(request_id)
        with self._reachable():
            async with self._client().pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(key)
                        raw = await pipe.get(key)
                        if raw is None:
                            await pipe.unwatch()
                            return None
                        before = ChatRecord.model_validate_json(raw)
                        after = change(before)
                        if after is before:  # nothing to write (e.g. already final)
                            await pipe.unwatch()
                            return before
                        pipe.multi()
                        # A final record expires `retention_s` after it is written: Redis purges it.
                        ttl = max(1, math.ceil(self.retention_s)) if after.final else None
                        pipe.set(key, after.model_dump_json(), ex=ttl)
                        await pipe.execute()
                        return after
                    except WatchError:
                        continue  # someone wrote between our read and our write: read again

    async def _call(self, operation: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        with self._reachable():
            return await operation(self._client())

    # --- the ResultStore interface
    def _pending_key(self) -> str:
        return f"{self.prefix}pending"  # sorted set: request id -> created_at (unix s)

    async def create(self, record: ChatRecord, *, max_pending: int = 0) -> bool:
        keys = [self._record_key(record.request_id), self._pending_key()]
        if record.owner is not None and record.status is Status.pending:  # what the limit counts
            keys.append(self._owner_pending_key(record.owner))
        args = [
            record.model_dump_json(),
            record.request_id,
            repr(record.created_at.timestamp()),
            str(max_pending),
        ]
        # One script: Redis runs it alone, so the count and the insert cannot be split by another.
        created = await self._call(lambda r: r.eval(_CREATE_WITHIN_LIMIT, len(keys), *keys, *args))
        return bool(created)

    async def get(self, request_id: str) -> ChatRecord | None:
        raw = await self._call(lambda r: r.get(self._record_key(request_id)))
        return ChatRecord.model_validate_json(raw) if raw is not None else None

    async def set_event_ids(self, request_id: str, event_ids: list[str]) -> None:
        ids = list(event_ids)
        await self._update(request_id, lambda record: record.model_copy(update={"event_ids": ids}))

    async def add_event_ids(self, request_id: str, event_ids: list[str]) -> None:
        def change(record: ChatRecord) -> ChatRecord:
            merged = record.event_ids + [i for i in event_ids if i not in record.event_ids]
            return record.model_copy(update={"event_ids": merged})

        await self._update(request_id, change)

    async def count_attempt(self, request_id: str) -> int | None:
        record = await self._update(
            request_id,
            lambda r: r if r.final else r.model_copy(update={"attempts": (r.attempts or 0) + 1}),
        )
        return record.attempts if record is not None and not record.final else None

    async def finish(self, request_id: str, **fields: Any) -> ChatRecord | None:
        check_finish_fields(fields)
        record = await self._update(request_id, lambda record: finished(record, fields))
        if record is not None and record.owner is not None:
            pending = self._owner_pending_key(record.owner)
            await self._call(lambda r: r.srem(pending, request_id))  # a second removal is harmless
        if record is not None:
            # Wakes long-polls in every process; a duplicate finish only wakes them once more.
            await self._call(lambda r: r.publish(self.finished_channel, request_id))
            # Out of the index; if this fails, pending_before drops it when it meets it.
            await self._call(lambda r: r.zrem(self._pending_key(), request_id))
        return record

    async def pending_before(self, cutoff: datetime, limit: int) -> list[ChatRecord]:
        found = await self._call(
            lambda r: r.zrangebyscore(
                self._pending_key(), "-inf", f"({cutoff.timestamp()}", start=0, num=limit
            )
        )
        ids = [str(i) for i in found]  # decode_responses: the members are str
        if not ids:
            return []
        raws = await self._call(lambda r: r.mget([self._record_key(i) for i in ids]))
        records = [ChatRecord.model_validate_json(raw) for raw in raws if raw is not None]
        stale = [i for i, raw in zip(ids, raws, strict=True) if raw is None] + [
            r.request_id for r in records if r.final
        ]
        if stale:
            await self._call(lambda r: r.zrem(self._pending_key(), *stale))
        return [r for r in records if not r.final]

    async def claim_idempotency_key(self, key: str, request_id: str, ttl_s: int) -> str:
        name = self._idem_key(key)
        while True:
            if await self._call(lambda r: r.set(name, request_id, nx=True, ex=ttl_s)):
                return request_id
            bound = await self._call(lambda r: r.get(name))
            if bound is not None:
                return str(bound)
            # The binding expired between SET and GET: try to take the key again.

    async def release_idempotency_key(self, key: str, request_id: str) -> None:
        # Compare-and-delete in one script, so a binding made by someone else is never removed.
        await self._call(lambda r: r.eval(_RELEASE_IF_BOUND_TO, 1, self._idem_key(key), request_id))

    async def count_pending(self, owner: str) -> int:
        return int(await self._call(lambda r: r.scard(self._owner_pending_key(owner))))

    async def hit(self, bucket: str, window_s: int) -> tuple[int, float]:
        now = time.time()
        window_no = int(now // window_s)
        key = f"{self.prefix}rate:{bucket}:{window_no}"

        async def count(r: aioredis.Redis) -> int:
            async with r.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, window_s + 1)  # gone once its window is over
                hits, _ = await pipe.execute()
            return int(hits)

        return await self._call(count), (window_no + 1) * window_s - now

    async def purge(self) -> Purged:
        # Redis expires both by itself: final records (TTL set by finish) and keys (SET EX).
        return Purged(records=0, keys=0)

    async def finished_ids(self, on_subscribed: Callable[[], None] | None = None) -> AsyncIterator[str]:
        """Every request id finished from now on, by any process; `on_subscribed` runs once
        the subscription is live. Ends with StoreUnavailable when Redis goes away."""
        # A connection of its own with no read timeout: a quiet channel is not a dead one.
        client = aioredis.Redis.from_url(
            self.url, decode_responses=True, socket_connect_timeout=CONNECT_TIMEOUT_S
        )
        try:
            with self._reachable():
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.finished_channel)
                    if on_subscribed is not None:
                        on_subscribed()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            yield str(message["data"])
        finally:
            await client.aclose()

    async def ping(self) -> None:
        await self._call(lambda r: r.ping())

    async def close(self) -> None:
        await self._clients.close()

    def __repr__(self) -> str:
        return f"<RedisStore {redact_url(self.url)} prefix={self.prefix!r}>"
