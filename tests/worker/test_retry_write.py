"""A failure handler's store write survives a short store outage (worker/retry_write.py).

The SDK registers failure handlers with no retries of their own. Here a real
redis-server (with an append-only file, so a restart keeps the data) is killed with
kill -9 while a run is in flight: the run's save fails, the run fails, and its failure
handler finds the store down. Redis comes back a moment later, and the handler's
in-process retries record the error. The reconciler is off, so only the retry can.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import redis

from learninngest.config import get_settings
from learninngest.engine.app import create_engine_app
from learninngest.engine.settings import EngineSettings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.kit.stack import Stack
from tests.redis_server import DurableRedis
from tests.support import wait_for


def test_the_failure_handler_retries_its_write_while_the_store_restarts(
    durable_redis: DurableRedis, tmp_path: Path
) -> None:
    engine_port = free_port()
    engine = BackgroundServer(
        create_engine_app(EngineSettings(port=engine_port, db_path=None, time_scale=0.01)),
        name="engine",
        port=engine_port,
    ).start()
    settings = get_settings(
        result_store_url=durable_redis.url,
        worker_retries=0,
        reconcile_interval_s=0,
        kit_inngest_server=engine.url,
    )
    stack = Stack(settings=settings).up()
    try:
        accepted = httpx.post(
            f"{stack.backend_url}/api/v1/chat",
            json={"query": "[fault:slow=2000] What is the capital of France?"},
        ).json()
        request_id = accepted["request_id"]

        def attempt_started() -> None:
            with redis.Redis.from_url(durable_redis.url) as client:
                assert '"attempts":1' in (client.get(f"learninngest:chat:{request_id}") or b"").decode()

        wait_for(attempt_started, timeout=30)
        durable_redis.kill9()  # the save step, then the failure handler, find the store down

        def failure_handled() -> None:
            failed = httpx.get(f"{engine.url}/v1/events", params={"name": "inngest/function.failed"}).json()
            assert any(e["data"]["event"]["data"]["request_id"] == request_id for e in failed["data"])

        wait_for(failure_handled, timeout=30)
        durable_redis.start()  # back within the handler's retries

        def final() -> dict[str, Any]:
            result = httpx.get(
                f"{stack.backend_url}/api/v1/chat/result/{request_id}", params={"wait": 5}
            ).json()
            assert result["status"] != "pending", result
            return result

        result = wait_for(final, timeout=30)
        assert result["status"] == "error" and "result store" in result["error"]
    finally:
        stack.down()
        engine.stop()
