"""Long-poll bounds (api/results.py, api/waiters.py): reads counted, deadline kept, woken across
processes through Redis or PostgreSQL, capped per process, and results purged after their retention."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.store.base import ChatRecord, ResultStore, Status
from tests.store.conftest import empty_postgres
from tests.support import wait_for, wait_until


@contextmanager
def backend_with(**settings: Any) -> Iterator[BackgroundServer]:
    """A real backend (no Inngest server behind it: these tests write the store themselves)."""
    app = create_app(get_settings(inngest_base_url=f"http://127.0.0.1:{free_port()}", **settings))
    with BackgroundServer(app, name="backend") as server:
        yield server


def count_reads(store: ResultStore) -> list[str]:
    """Every store.get(request_id) from now on, by the route and by the waiters' pollers."""
    reads: list[str] = []
    original = store.get

    async def get(request_id: str) -> ChatRecord | None:
        reads.append(request_id)
        return await original(request_id)

    store.get = get  # type: ignore[method-assign]
    return reads


def get_in_thread(url: str, params: dict[str, Any], replies: list[httpx.Response]) -> threading.Thread:
    thread = threading.Thread(target=lambda: replies.append(httpx.get(url, params=params, timeout=60)))
    thread.start()
    return thread


def test_an_in_process_store_is_read_once_per_wake_up_not_polled() -> None:
    with backend_with(result_store_url="memory://") as server:
        store = server.app.state.store
        asyncio.run(store.create(ChatRecord(request_id="r1", query="q")))
        reads = count_reads(store)

        reply = httpx.get(f"{server.url}/api/v1/chat/result/r1", params={"wait": 1.5}, timeout=30)

        assert reply.json()["status"] == "pending"
        # Only this process writes a memory store: nothing to re-read until notify() says so.
        assert reads == ["r1"]


def test_the_deadline_holds_even_when_a_store_read_hangs() -> None:
    with backend_with(result_store_url="memory://") as server:
        store = server.app.state.store
        asyncio.run(store.create(ChatRecord(request_id="r1", query="q")))
        original = store.get
        calls = 0

        async def slow_after_first(request_id: str) -> ChatRecord | None:
            nonlocal calls
            calls += 1
            if calls > 1:
                await asyncio.sleep(60)  # a store that stopped answering
            return await original(request_id)

        store.get = slow_after_first
        replies: list[httpx.Response] = []
        thread = get_in_thread(f"{server.url}/api/v1/chat/result/r1", {"wait": 1}, replies)
        wait_for(lambda: assert_equal(server.app.state.waiters.count, 1))
        server.app.state.waiters.notify("r1")  # the second read hangs; the deadline must answer
        thread.join(30)
        assert not thread.is_alive(), "the long-poll outlived its deadline by far"
        assert replies[0].json()["status"] == "pending"


def assert_equal(actual: object, expected: object) -> None:
    assert actual == expected, actual


def test_many_waiters_on_a_shared_sqlite_file_share_one_poller(sqlite_path) -> None:  # noqa: ANN001
    waiters = 20
    with backend_with(result_store_url=f"sqlite:///{sqlite_path}", long_poll_reread_s=0.5) as server:
        store = server.app.state.store
        asyncio.run(store.create(ChatRecord(request_id="r1", query="q")))
        reads = count_reads(store)
        replies: list[httpx.Response] = []
        threads = [
            get_in_thread(f"{server.url}/api/v1/chat/result/r1", {"wait": 2}, replies) for _ in range(waiters)
        ]
        for thread in threads:
            thread.join(60)

        assert [r.json()["status"] for r in replies] == ["pending"] * waiters
        # One read each, plus one poller's re-reads for all of them (at most ~2 s / 0.5 s, with
        # slack for a slow machine); a re-read per waiter would be 20 x 4 = 80 more.
        assert len(reads) < 2 * waiters, len(reads)


@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_a_finish_in_another_process_wakes_the_waiter_through_the_store(
    kind: str, request: pytest.FixtureRequest
) -> None:
    # Redis publishes the finish (pub/sub); PostgreSQL sends NOTIFY when the finish commits.
    redis_url = request.getfixturevalue(f"{kind}_url")
    if kind == "redis":
        with redis.Redis.from_url(redis_url) as client:
            client.flushdb()
    else:
        empty_postgres(redis_url)
    # A long re-read period: only the published finish can wake the waiter in time.
    with backend_with(result_store_url=redis_url, long_poll_reread_s=30) as server:
        waiters = server.app.state.waiters
        wait_for(lambda: assert_equal(waiters.subscribed, True))
        store = server.app.state.store
        asyncio.run(_create_and_close(redis_url, "r1"))
        reads = count_reads(store)
        replies: list[httpx.Response] = []
        thread = get_in_thread(f"{server.url}/api/v1/chat/result/r1", {"wait": 25}, replies)
        wait_for(lambda: assert_equal(waiters.count, 1))

        # Process A: a separate Python process finishes the request in the shared Redis.
        finish = (
            "import asyncio, sys\n"
            "from learninngest.store import open_store, Status\n"
            "async def main():\n"
            "    store = open_store(sys.argv[1])\n"
            "    await store.finish('r1', status=Status.done, content='Paris')\n"
            "    await store.close()\n"
            "asyncio.run(main())\n"
        )
        subprocess.run([sys.executable, "-c", finish, redis_url], check=True, timeout=60)
        thread.join(30)

        assert replies[0].json()["status"] == "done"
        assert replies[0].json()["content"] == "Paris"
        assert reads == ["r1", "r1"]  # the first read, and the one after the wake-up: no polling


async def _create_and_close(url: str, request_id: str) -> None:
    from learninngest.store import open_store

    store = open_store(url)
    await store.create(ChatRecord(request_id=request_id, query="q"))
    await store.close()


def test_too_many_waiters_is_503_with_retry_after() -> None:
    with backend_with(result_store_url="memory://", long_poll_max_waiters=1) as server:
        store = server.app.state.store
        asyncio.run(store.create(ChatRecord(request_id="r1", query="q")))
        replies: list[httpx.Response] = []
        first = get_in_thread(f"{server.url}/api/v1/chat/result/r1", {"wait": 25}, replies)
        wait_for(lambda: assert_equal(server.app.state.waiters.count, 1))

        refused = httpx.get(f"{server.url}/api/v1/chat/result/r1", params={"wait": 5}, timeout=30)
        without_wait = httpx.get(f"{server.url}/api/v1/chat/result/r1", timeout=30)

        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "1"
        assert "LONG_POLL_MAX_WAITERS=1" in refused.json()["detail"]
        assert without_wait.status_code == 200  # a plain read is never refused
        asyncio.run(store.finish("r1", status=Status.done, content="Paris"))
        server.app.state.waiters.notify("r1")
        first.join(30)
        assert replies[0].json()["status"] == "done"


def test_final_results_are_purged_after_their_retention_by_themselves() -> None:
    settings = {"result_store_url": "memory://", "result_retention_s": 1, "idempotency_ttl_s": 1}
    with backend_with(**settings) as server:
        store = server.app.state.store
        asyncio.run(store.create(ChatRecord(request_id="old", query="q")))
        asyncio.run(store.create(ChatRecord(request_id="pending", query="q")))
        asyncio.run(store.finish("old", status=Status.done, content="Paris"))

        def purged() -> None:
            assert httpx.get(f"{server.url}/api/v1/chat/result/old", timeout=10).status_code == 404

        wait_for(purged, timeout=20, interval=0.2)
        pending = httpx.get(f"{server.url}/api/v1/chat/result/pending", timeout=10)
        assert pending.json()["status"] == "pending"  # only final records expire


def test_a_finish_here_is_relayed_to_sibling_processes_and_a_relayed_one_wakes_here() -> None:
    from learninngest.api.waiters import ResultWaiters
    from learninngest.store import open_store

    async def scenario() -> tuple[list[str], bool]:
        waiters = ResultWaiters(open_store("memory://"))
        relayed: list[str] = []
        waiters.relay = relayed.append  # what serving/backend_child.py sets under `up --workers N`
        async with waiters.watch("r2") as waiter:
            waiters.notify("r1")  # this process's worker finished r1: the siblings hear of it
            waiters.notify_here("r2")  # a sibling finished r2: wake here, relay nothing back
            await asyncio.wait_for(waiter.wait(), 10)
        return relayed, True

    relayed, woken = asyncio.run(scenario())
    assert relayed == ["r1"] and woken


def test_a_long_poll_whose_client_left_frees_its_slot_before_its_deadline() -> None:
    with backend_with(result_store_url="memory://", long_poll_max_waiters=1) as server:
        waiters = server.app.state.waiters
        asyncio.run(server.app.state.store.create(ChatRecord(request_id="r1", query="q")))
        sock = socket.create_connection((server.host, server.port), timeout=10)
        try:
            sock.sendall(b"GET /api/v1/chat/result/r1?wait=30 HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_until(lambda: waiters.count == 1, timeout=10)
        finally:
            sock.close()  # the client gives up long before its 30 s
        wait_until(lambda: waiters.count == 0, timeout=10)
        print("waiting after the client left:", waiters.count)
        # The one slot is free again: the next long-poll is taken (200 at its deadline), not 503.
        reply = httpx.get(f"{server.url}/api/v1/chat/result/r1", params={"wait": 1}, timeout=30)
        assert reply.status_code == 200 and reply.json()["status"] == "pending"
