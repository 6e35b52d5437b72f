"""Two backends sharing one Redis store: a result saved by one is read through the other."""

from __future__ import annotations

from pathlib import Path

import httpx
import redis

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit import cells
from learninngest.kit.servers import BackgroundServer
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
