"""Rate limits (api/rate_limit.py): per key or address, 429 with Retry-After, one limit across replicas."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import redis

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.store.base import ChatRecord, Status
from tests.store.conftest import empty_postgres

ALICE = "alice-key-0123456789abcdef"
BOB = "bob-key-abcdefghijklmnop"
WINDOW_S = 86_400  # windows are aligned on the epoch: a day's ends at midnight UTC


T = TypeVar("T")


def in_one_window(scenario: Callable[[int], T]) -> T:
    """What `scenario(attempt)` saw, within one window: a run that crossed a window's end
    (midnight UTC) counted in two windows, so it runs once more, with fresh state (the
    attempt number tells it which), and the next end is a day away."""
    for attempt in range(2):
        window = int(time.time() // WINDOW_S)
        seen = scenario(attempt)
        if int(time.time() // WINDOW_S) == window:
            return seen
    raise AssertionError("two runs crossed a window's end: the clock jumps")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@contextlib.contextmanager
def backend(store_url: str, inngest_url: str, **overrides: object) -> Iterator[BackgroundServer]:
    port = free_port()
    settings = get_settings(port=port, inngest_base_url=inngest_url, result_store_url=store_url, **overrides)
    with BackgroundServer(create_app(settings), name=f"backend-{port}", port=port) as server:
        yield server


def test_requests_over_the_limit_get_429_with_retry_after(tmp_path: Path, dead_inngest_url: str) -> None:
    limits = {
        "api_keys": f"alice={ALICE},bob={BOB}",
        "rate_limit_requests": 3,
        "rate_limit_window_s": WINDOW_S,
    }

    def scenario(attempt: int) -> tuple[list[httpx.Response], int, int]:
        with (
            backend(f"sqlite:///{tmp_path / f'results-{attempt}.db'}", dead_inngest_url, **limits) as server,
            httpx.Client(base_url=server.url, timeout=30) as http,
        ):
            replies = [http.get("/api/v1/chat/result/x", headers=bearer(ALICE)) for _ in range(4)]
            # Another key has its own window; a wrong key is refused before it is counted.
            bob = http.get("/api/v1/chat/result/x", headers=bearer(BOB)).status_code
            return replies, bob, http.get("/healthz").status_code

    replies, bob, health = in_one_window(scenario)
    assert [r.status_code for r in replies] == [404, 404, 404, 429]
    assert [r.headers["RateLimit-Remaining"] for r in replies] == ["2", "1", "0", "0"]
    refused = replies[-1]
    assert refused.headers["RateLimit-Limit"] == "3"
    assert refused.headers["RateLimit-Policy"] == f"3;w={WINDOW_S}"
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW_S
    assert refused.headers["Retry-After"] == refused.headers["RateLimit-Reset"]
    assert "the limit is 3 per 86400 s" in refused.json()["detail"]
    assert bob == 404
    assert health == 200  # never limited


def test_without_api_keys_the_limit_is_per_client_address(tmp_path: Path, dead_inngest_url: str) -> None:
    def scenario(attempt: int) -> list[int]:
        store_url = f"sqlite:///{tmp_path / f'results-{attempt}.db'}"
        with (
            backend(
                store_url, dead_inngest_url, rate_limit_requests=2, rate_limit_window_s=WINDOW_S
            ) as server,
            httpx.Client(base_url=server.url, timeout=30) as http,
        ):
            return [http.get("/api/v1/chat/result/x").status_code for _ in range(3)]

    assert in_one_window(scenario) == [404, 404, 429]


def test_no_limit_headers_in_dev_mode(http: httpx.Client) -> None:
    reply = http.get("/api/v1/chat/result/x")
    assert reply.status_code == 404
    assert "RateLimit-Limit" not in reply.headers


def test_a_key_with_too_many_pending_requests_gets_429(sqlite_path: Path, dead_inngest_url: str) -> None:
    limits = {"api_keys": f"alice={ALICE},bob={BOB}", "rate_limit_max_pending": 2}
    with (
        backend(f"sqlite:///{sqlite_path}", dead_inngest_url, **limits) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):

        async def alice_has_two_pending(store) -> None:  # noqa: ANN001
            for request_id in ("p1", "p2"):
                await store.create(ChatRecord(request_id=request_id, query="q", owner="alice"))

        asyncio.run(alice_has_two_pending(server.app.state.store))
        refused = http.post("/api/v1/chat", json={"query": "hi"}, headers=bearer(ALICE))
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "2"
        assert "already has 2 requests pending (limit 2)" in refused.json()["detail"]
        # Bob's requests are his own: he is not refused (503 here: no Inngest server runs).
        assert http.post("/api/v1/chat", json={"query": "hi"}, headers=bearer(BOB)).status_code == 503

        asyncio.run(server.app.state.store.finish("p1", status=Status.done, content="x"))
        # One slot free again: accepted (and, with no Inngest server, recorded as an error).
        assert http.post("/api/v1/chat", json={"query": "hi"}, headers=bearer(ALICE)).status_code == 503


@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_replicas_sharing_a_store_enforce_one_limit(
    kind: str, request: pytest.FixtureRequest, dead_inngest_url: str
) -> None:
    url = request.getfixturevalue(f"{kind}_url")
    limits = {"api_keys": f"alice={ALICE}", "rate_limit_requests": 4, "rate_limit_window_s": WINDOW_S}

    def scenario(_attempt: int) -> list[int]:
        if kind == "redis":
            with redis.Redis.from_url(url) as client:
                client.flushdb()
        else:
            empty_postgres(url)
        with (
            backend(url, dead_inngest_url, **limits) as first,
            backend(url, dead_inngest_url, **limits) as second,
            httpx.Client(timeout=30, headers=bearer(ALICE)) as http,
        ):
            urls = [first.url, second.url, first.url, second.url, first.url, second.url]
            return [http.get(f"{base}/api/v1/chat/result/x").status_code for base in urls]

    assert in_one_window(scenario) == [404, 404, 404, 404, 429, 429]
