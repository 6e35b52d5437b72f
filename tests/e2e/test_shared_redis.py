"""Two backends sharing one Redis store: a result saved by one is read through the other, and a
run executed by one streams its tokens to a client of the other (the Redis channel)."""

from __future__ import annotations

from pathlib import Path

import httpx
import redis

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit import cells
from learninngest.kit.servers import BackgroundServer
from learninngest.stream.sse import parse
from tests.e2e.conftest import make_stack


def test_a_second_backend_reads_results_from_the_shared_store(tmp_path: Path, redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    stack = make_stack(tmp_path, result_store_url=redis_url).up()
    try:
        accepted = cells.send("What is the capital of France?", stack=stack)
        # A second backend process would see the same: it has its own store client and no notifier.
        other = create_app(get_settings(result_store_url=redis_url, inngest_base_url=stack.inngest_url))
        with BackgroundServer(other, name="backend-2") as second:
            reply = httpx.get(
                f"{second.url}/api/v1/chat/result/{accepted['request_id']}", params={"wait": 20}, timeout=30
            )
        assert reply.json()["status"] == "done"
        assert "Paris" in reply.json()["content"]
    finally:
        stack.down()


def test_a_stream_on_one_backend_shows_the_tokens_of_a_run_on_another(tmp_path: Path, redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    # Backend A (in the stack) runs every chat_worker; backend B only serves clients.
    stack = make_stack(
        tmp_path, result_store_url=redis_url, offline_latency_mean_ms=1500, offline_latency_spread_ms=0
    ).up()
    try:
        other = create_app(get_settings(result_store_url=redis_url, inngest_base_url=stack.inngest_url))
        with BackgroundServer(other, name="backend-2") as second:
            accepted = httpx.post(
                f"{second.url}/api/v1/chat",
                json={"query": "What is the capital of France? [fault:503,after=2]", "clean": False},
            ).json()
            url = f"{second.url}/api/v1/chat/{accepted['request_id']}/stream"
            with httpx.stream("GET", url, timeout=30) as reply:
                messages = list(parse(reply.iter_lines()))
        events = [m.event for m in messages if m.comment is None]
        assert "retry" in events and events.count("token") > 5
        assert events[-1] == "done"
        content = messages[-1].data["content"]  # type: ignore[index]
        after_retry = "".join(
            m.data["text"] for m in messages if m.event == "token" and m.data and m.data["attempt"] == 2
        )
        assert after_retry == content and "Paris" in content
        # The run really was backend A's: only A is synced with the engine.
        runs = cells.runs_of(accepted["request_id"], stack=stack)
        assert runs and runs[0]["status"] == "Completed"
    finally:
        stack.down()
