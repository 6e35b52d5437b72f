"""One contract, every backend: each test here runs against sqlite, memory, redis-server and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from learninngest.store import ChatRecord, ResultStore, Status, open_store
from tests.support import async_wait_for

pytestmark = pytest.mark.anyio


async def test_create_then_get(store: ResultStore) -> None:
    await store.create(ChatRecord(request_id="r1", query="hello"))

    record = await store.get("r1")

    assert record is not None
    assert (record.request_id, record.status, record.query) == ("r1", Status.pending, "hello")
    assert record.completed_at is None
    assert record.created_at.tzinfo is not None
    assert record.created_at.utcoffset() == timedelta(0)


async def test_unknown_id_is_none(store: ResultStore) -> None:
    assert await store.get("nope") is None
    assert await store.finish("nope", status=Status.done, content="x") is None


async def test_create_never_replaces(store: ResultStore) -> None:
    await store.create(ChatRecord(request_id="r1", query="first"))
    await store.create(ChatRecord(request_id="r1", query="second"))

    record = await store.get("r1")
    assert record is not None and record.query == "first"


async def test_datetimes_come_back_in_utc(store: ResultStore) -> None:
    paris = timezone(timedelta(hours=2))
    created = datetime(2024, 5, 1, 12, 0, tzinfo=paris)
    await store.create(ChatRecord(request_id="r1", created_at=created))

    record = await store.get("r1")

    assert record is not None
    assert record.created_at == created
    assert record.created_at.tzinfo == UTC


async def test_finish_sets_fields_and_completed_at(store: ResultStore) -> None:
    await store.create(ChatRecord(request_id="r1", query="q"))
    before = datetime.now(UTC)

    returned = await store.finish(
        "r1",
        status=Status.done,
        content="Paris",
        model="m1",
        usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
        attempts=2,
    )
    stored = await store.get("r1")

    assert returned == stored
    assert stored is not None
    assert stored.status is Status.done
    assert (stored.content, stored.model, stored.attempts) == ("Paris", "m1", 2)
    assert stored.usage == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    assert stored.completed_at is not None and stored.completed_at >= before
    assert stored.completed_at.tzinfo == UTC


async def test_finish_does_not_overwrite_a_final_record(store: ResultStore) -> None:
    await store.create(ChatRecord(request_id="r1"))
    first = await store.finish("r1", status=Status.done, content="answer")

    # A late failure handler after success must not turn "done" into "error".
    late = await store.finish("r1", status=Status.error, error="boom")

    assert late == first
    stored = await store.get("r1")
    assert stored is not None
    assert (stored.status, stored.content, stored.error) == (Status.done, "answer", None)


async def test_finish_refuses_a_non_final_status_or_unknown_field(store: ResultStore) -> None:
    await store.create(ChatRecord(request_id="r1"))
    with pytest.raises(ValueError, match="pending"):
        await store.finish("r1", status=Status.pending)
    with pytest.raises(ValueError, match="colour"):
        await store.finish("r1", status=Status.done, colour="red")
    with pytest.raises(ValueError, match="status"):
        await store.finish("r1", content="x")


async def test_set_event_ids(store: ResultStore) -> None:
    await store.create(ChatRecord(request_id="r1"))

    await store.set_event_ids("r1", ["ev1", "ev2"])
    await store.set_event_ids("unknown", ["ev3"])  # no record: nothing happens

    record = await store.get("r1")
    assert record is not None and record.event_ids == ["ev1", "ev2"]
    assert await store.get("unknown") is None


async def test_count_attempt_adds_one_while_pending(store: ResultStore) -> None:
    await store.create(ChatRecord(request_id="r1"))
    assert await store.count_attempt("r1") == 1
    assert await store.count_attempt("r1") == 2
    assert (await store.get("r1")).attempts == 2  # type: ignore[union-attr]
    await store.finish("r1", status=Status.error, error="gave up")
    assert await store.count_attempt("r1") is None  # a late call never changes a final record
    record = await store.get("r1")
    assert record is not None and (record.attempts, record.status) == (2, Status.error)
    assert await store.count_attempt("unknown") is None
    assert await store.get("unknown") is None


async def test_count_attempt_is_atomic(store: ResultStore) -> None:
    await store.create(ChatRecord(request_id="r1"))
    counts = await asyncio.gather(*(store.count_attempt("r1") for _ in range(10)))
    assert sorted(counts) == list(range(1, 11))  # type: ignore[type-var]


async def test_add_event_ids_appends_only_new_ids(store: ResultStore) -> None:
    await store.create(ChatRecord(request_id="r1"))
    await store.set_event_ids("r1", ["ev1"])

    await store.add_event_ids("r1", ["ev1", "ev2"])
    await store.add_event_ids("unknown", ["ev3"])  # no record: nothing happens

    record = await store.get("r1")
    assert record is not None and record.event_ids == ["ev1", "ev2"]
    assert await store.get("unknown") is None


async def test_pending_before_lists_old_pending_records_oldest_first(store: ResultStore) -> None:
    now = datetime.now(UTC)
    for name, age_s in (("new", 1), ("old", 300), ("older", 600), ("done", 900)):
        await store.create(ChatRecord(request_id=name, created_at=now - timedelta(seconds=age_s)))
    await store.finish("done", status=Status.done, content="x")

    old = await store.pending_before(now - timedelta(seconds=60), limit=10)

    assert [r.request_id for r in old] == ["older", "old"]
    assert [r.request_id for r in await store.pending_before(now, limit=1)] == ["older"]
    await store.finish("older", status=Status.error, error="gave up")
    assert [r.request_id for r in await store.pending_before(now, limit=10)] == ["old", "new"]


async def test_release_idempotency_key_only_unbinds_its_own_request(store: ResultStore) -> None:
    assert await store.claim_idempotency_key("k", "r1", 60) == "r1"
    await store.release_idempotency_key("k", "someone-else")
    assert await store.claim_idempotency_key("k", "r2", 60) == "r1"
    await store.release_idempotency_key("k", "r1")
    assert await store.claim_idempotency_key("k", "r2", 60) == "r2"
    await store.release_idempotency_key("unknown", "r1")  # nothing bound: nothing happens


async def test_event_ids_survive_finish(store: ResultStore) -> None:
    await store.create(ChatRecord(request_id="r1"))
    await store.set_event_ids("r1", ["ev1"])

    await store.finish("r1", status=Status.error, error="gave up")

    record = await store.get("r1")
    assert record is not None
    assert (record.status, record.error, record.event_ids) == (Status.error, "gave up", ["ev1"])


async def test_idempotency_key_same_key_gives_first_id(store: ResultStore) -> None:
    assert await store.claim_idempotency_key("k", "first", ttl_s=60) == "first"
    assert await store.claim_idempotency_key("k", "second", ttl_s=60) == "first"
    assert await store.claim_idempotency_key("other", "third", ttl_s=60) == "third"


async def test_idempotency_key_expires(store: ResultStore) -> None:
    assert await store.claim_idempotency_key("k", "first", ttl_s=1) == "first"

    async def claimed_by_second() -> None:
        assert await store.claim_idempotency_key("k", "second", ttl_s=60) == "second"

    # Until the TTL is over the claim answers "first"; then the key is free again.
    await async_wait_for(claimed_by_second, timeout=5, interval=0.1)
    assert await store.claim_idempotency_key("k", "third", ttl_s=60) == "second"


async def test_concurrent_finishes_have_exactly_one_winner(store: ResultStore) -> None:
    await store.create(ChatRecord(request_id="r1"))
    contents = [f"answer-{n}" for n in range(40)]

    results = await asyncio.gather(*(store.finish("r1", status=Status.done, content=c) for c in contents))

    assert len({r.content for r in results if r is not None}) == 1
    winners = [c for c, r in zip(contents, results, strict=True) if r and r.content == c]
    assert len(winners) == 1
    stored = await store.get("r1")
    assert stored is not None and stored.content == winners[0]


async def test_concurrent_claims_have_exactly_one_winner(store: ResultStore) -> None:
    ids = [f"req-{n}" for n in range(40)]

    results = await asyncio.gather(*(store.claim_idempotency_key("k", i, ttl_s=60) for i in ids))

    assert len(set(results)) == 1
    assert results[0] in ids


async def test_ping_on_a_working_store(store: ResultStore) -> None:
    await store.ping()


# --- retention: purge() drops old final records and expired keys, never pending records


def _stored_key_count(store: ResultStore) -> int:
    """How many idempotency keys the backend really holds (expired ones included)."""
    if store.url.startswith("memory"):
        return len(store._keys)  # type: ignore[attr-defined]
    if store.url.startswith("sqlite"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(store.path)) as conn:  # type: ignore[attr-defined]
            return int(conn.execute("SELECT COUNT(*) FROM idempotency_keys").fetchone()[0])
    if store.url.startswith("postgres"):
        import psycopg

        with psycopg.connect(store.url) as conn:
            return int(conn.execute("SELECT count(*) FROM idempotency_keys").fetchone()[0])  # type: ignore[index]
    import redis

    with redis.Redis.from_url(store.url) as client:
        return len(client.keys("*idem:*"))


async def test_purge_removes_final_records_past_retention_and_keeps_pending(store_url: str) -> None:
    store = open_store(store_url, retention_s=1)
    try:
        await store.create(ChatRecord(request_id="old", query="q"))
        await store.create(ChatRecord(request_id="pending", query="q"))
        await store.finish("old", status=Status.done, content="Paris")

        async def old_is_gone() -> None:
            await store.purge()
            assert await store.get("old") is None

        await async_wait_for(old_is_gone, timeout=15, interval=0.2)
        pending = await store.get("pending")
        assert pending is not None and pending.status is Status.pending
    finally:
        await store.close()


async def test_purge_keeps_final_records_within_retention(store_url: str) -> None:
    store = open_store(store_url, retention_s=3600)
    try:
        await store.create(ChatRecord(request_id="fresh", query="q"))
        await store.finish("fresh", status=Status.error, error="boom")
        await store.purge()
        fresh = await store.get("fresh")
        assert fresh is not None and fresh.status is Status.error
    finally:
        await store.close()


async def test_purge_removes_expired_idempotency_keys(store_url: str) -> None:
    store = open_store(store_url, retention_s=3600)
    try:
        await store.claim_idempotency_key("short", "r1", ttl_s=1)
        await store.claim_idempotency_key("long", "r2", ttl_s=3600)
        assert _stored_key_count(store) == 2

        async def only_the_live_key_is_left() -> None:
            await store.purge()
            assert _stored_key_count(store) == 1

        await async_wait_for(only_the_live_key_is_left, timeout=15, interval=0.2)
        assert await store.claim_idempotency_key("long", "r3", ttl_s=60) == "r2"
    finally:
        await store.close()


# --- what the API's limits ask of the store (api/rate_limit.py)


async def test_count_pending_counts_only_the_owners_pending_records(store: ResultStore) -> None:
    await store.create(ChatRecord(request_id="a1", owner="alice"))
    await store.create(ChatRecord(request_id="a2", owner="alice"))
    await store.create(ChatRecord(request_id="b1", owner="bob"))
    await store.create(ChatRecord(request_id="n1"))
    assert await store.count_pending("alice") == 2

    await store.finish("a1", status=Status.done, content="x")
    await store.finish("a1", status=Status.error, error="late duplicate")  # counted once

    assert (await store.count_pending("alice"), await store.count_pending("bob")) == (1, 1)
    assert await store.count_pending("nobody") == 0
    record = await store.get("a2")
    assert record is not None and record.owner == "alice"


async def test_a_burst_of_creates_never_passes_the_pending_limit(store: ResultStore, store_url: str) -> None:
    # A second store on the same URL stands for another replica (memory:// lives in one process).
    other = store if store_url.startswith("memory") else open_store(store_url)
    try:
        burst = [
            (store if n % 2 else other).create(ChatRecord(request_id=f"a{n}", owner="alice"), max_pending=5)
            for n in range(50)
        ]
        accepted = await asyncio.gather(*burst)

        assert accepted.count(True) == 5
        assert await store.count_pending("alice") == 5
        taken = [f"a{n}" for n, ok in enumerate(accepted) if ok]
        refused = [f"a{n}" for n, ok in enumerate(accepted) if not ok]
        assert [await store.get(request_id) for request_id in refused] == [None] * 45
        # Another key has slots of its own; a request without a key is not counted.
        assert await store.create(ChatRecord(request_id="b1", owner="bob"), max_pending=5)
        assert await store.create(ChatRecord(request_id="n1"), max_pending=5)
        # Creating a record that exists again (a replay's takeover) is no new reservation.
        assert await store.create(ChatRecord(request_id=taken[0], owner="alice"), max_pending=5)
        assert await store.count_pending("alice") == 5
    finally:
        if other is not store:
            await other.close()


async def test_finishing_a_record_frees_its_pending_slot(store: ResultStore) -> None:
    for n in range(2):
        assert await store.create(ChatRecord(request_id=f"a{n}", owner="alice"), max_pending=2)
    assert not await store.create(ChatRecord(request_id="a2", owner="alice"), max_pending=2)

    await store.finish("a0", status=Status.error, error="the send failed")

    assert await store.create(ChatRecord(request_id="a2", owner="alice"), max_pending=2)
    assert not await store.create(ChatRecord(request_id="a3", owner="alice"), max_pending=2)
    assert await store.create(ChatRecord(request_id="a3", owner="alice"))  # no limit asked: no limit


async def test_finish_keeps_the_owner(store: ResultStore) -> None:
    await store.create(ChatRecord(request_id="r1", owner="alice"))
    with pytest.raises(ValueError, match="owner"):
        await store.finish("r1", status=Status.done, owner="mallory")
    done = await store.finish("r1", status=Status.done, content="x")
    assert done is not None and done.owner == "alice"


async def test_hit_counts_per_bucket_within_a_window(store: ResultStore) -> None:
    window_s = 86_400  # windows are aligned on the epoch: this test would have to run at midnight UTC
    first, reset_s = await store.hit("alice", window_s)
    hits = [first] + [(await store.hit("alice", window_s))[0] for _ in range(4)]
    other, _ = await store.hit("bob", window_s)

    assert hits == [1, 2, 3, 4, 5]
    assert other == 1
    assert 0 < reset_s <= window_s


async def test_concurrent_hits_are_all_counted(store: ResultStore) -> None:
    counts = await asyncio.gather(*(store.hit("k", 86_400) for _ in range(30)))
    # Each concurrent hit saw its own count: none was lost to a read-modify-write race.
    assert sorted(c for c, _ in counts) == list(range(1, 31))


async def test_a_new_window_starts_from_one(store: ResultStore) -> None:
    await store.hit("k", 1)

    async def counted_afresh() -> None:
        hits, reset_s = await store.hit("k", 1)
        assert hits == 1 and 0 < reset_s <= 1

    await async_wait_for(counted_afresh, timeout=10, interval=0.3)
