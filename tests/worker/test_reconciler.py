"""The reconciler finishes requests whose run ended while nothing could record it.

Real processes: the backend (or its Redis store) is killed with kill -9 while a run
is in flight, so the run and then its failure handler fail with nobody able to write
the store; once it is back, the backend's reconciler reads the runs from the engine's
REST API.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.engine.app import create_engine_app
from learninngest.engine.settings import EngineSettings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.kit.stack import Stack
from learninngest.store.base import ChatRecord
from learninngest.store.sqlite import SQLiteStore
from tests.processes import Processes
from tests.redis_server import DurableRedis
from tests.support import wait_for

# The send's deadline wide enough for a loaded machine (a slower send would answer 503), the
# reconciler's just past it (it must be).
RECONCILE_FAST = {"reconcile_interval_s": 0.2, "reconcile_after_s": 6, "event_send_timeout_s": 5}


def read_record(path: Path, request_id: str) -> ChatRecord | None:
    return asyncio.run(SQLiteStore(f"sqlite:///{path}").get(request_id))


def enqueue(backend_url: str, query: str) -> tuple[str, str]:
    """POST the chat request (202 expected); its request id and event id."""
    posted = httpx.post(f"{backend_url}/api/v1/chat", json={"query": query}, timeout=30)
    assert posted.status_code == 202, posted.text
    accepted = posted.json()
    return accepted["request_id"], accepted["event_ids"][0]


def rest(engine_url: str, path: str, **params: Any) -> Any:
    return httpx.get(f"{engine_url}{path}", params=params, timeout=10).json()["data"]


@pytest.mark.timeout(120)  # several real processes start and die: slow on a busy machine
def test_a_run_that_failed_while_the_backend_was_down_ends_after_its_restart(
    processes: Processes, tmp_path: Path
) -> None:
    store = tmp_path / "results.db"
    backend_port, engine_port = free_port(), free_port()
    env = {"worker_retries": 0, "offline_latency_mean_ms": 0, **RECONCILE_FAST}
    backend = processes.backend(backend_port, engine_port, store, **env)
    engine = processes.engine(engine_port, f"{backend.url}/api/inngest")
    wait_for(lambda: httpx.get(f"{backend.url}/readyz").raise_for_status(), timeout=90)

    request_id, event_id = enqueue(backend.url, "[fault:slow=20000] What is the capital of France?")

    def model_called() -> None:
        record = read_record(store, request_id)
        assert record is not None and record.attempts == 1

    wait_for(model_called, timeout=30)
    backend.kill9()  # mid-call: the model is still "thinking"

    def run_failed() -> str:
        runs = rest(engine.url, f"/v1/events/{event_id}/runs")
        assert [r["status"] for r in runs] == ["Failed"]
        return str(runs[0]["run_id"])

    run_id = wait_for(run_failed, timeout=30)

    def handler_failed() -> None:
        failures = rest(engine.url, "/v1/events", name="inngest/function.failed", limit=100)
        ours = [e for e in failures if e["data"]["run_id"] == run_id]
        assert len(ours) == 1
        assert [r["status"] for r in rest(engine.url, f"/v1/events/{ours[0]['internal_id']}/runs")] == [
            "Failed"
        ]

    wait_for(handler_failed, timeout=30)  # the failure handler could not reach the backend either
    assert read_record(store, request_id).status == "pending"  # type: ignore[union-attr]

    backend = processes.backend(backend_port, engine_port, store, **env)

    def final() -> dict[str, Any]:
        result = httpx.get(f"{backend.url}/api/v1/chat/result/{request_id}", params={"wait": 5}).json()
        assert result["status"] == "error", result
        return result

    result = wait_for(final, timeout=30)
    assert result["error"] and result["attempts"] == 1
    assert "reconciler: request finished as error" in backend.log()


def test_an_event_that_started_no_run_ends_as_error(tmp_path: Path) -> None:
    engine_port = free_port()
    # An engine nobody synced: it accepts the event but has no function for it.
    engine_app = create_engine_app(EngineSettings(port=engine_port, db_path=None, time_scale=0.01))
    settings = get_settings(
        port=free_port(),
        inngest_base_url=f"http://127.0.0.1:{engine_port}",
        result_store_url=f"sqlite:///{tmp_path / 'results.db'}",
        **RECONCILE_FAST,
    )
    with (
        BackgroundServer(engine_app, name="engine", port=engine_port),
        BackgroundServer(create_app(settings), name="backend", port=settings.port) as backend,
    ):
        accepted = httpx.post(
            f"{backend.url}/api/v1/chat", json={"query": "What is the capital of France?"}, timeout=30
        )
        assert accepted.status_code == 202  # `serve` cannot know whether the app is synced

        def final() -> dict[str, Any]:
            result = httpx.get(f"{backend.url}{accepted.json()['result_url']}", params={"wait": 5}).json()
            assert result["status"] == "error", result
            return result

        result = wait_for(final, timeout=30)
    assert "started no run" in result["error"] and "Sync the app" in result["error"]


@pytest.mark.timeout(120)  # several real processes start and die: slow on a busy machine
def test_a_store_outage_longer_than_the_handlers_retries_ends_after_the_store_returns(
    durable_redis: DurableRedis,
) -> None:
    engine_port = free_port()
    engine = BackgroundServer(
        create_engine_app(EngineSettings(port=engine_port, db_path=None, time_scale=0.01)),
        name="engine",
        port=engine_port,
    ).start()
    settings = get_settings(
        result_store_url=durable_redis.url, worker_retries=0, kit_inngest_server=engine.url, **RECONCILE_FAST
    )
    stack = Stack(settings=settings).up()
    try:
        request_id, event_id = enqueue(stack.backend_url, "[fault:slow=2000] What is the capital of France?")

        def model_called() -> None:
            with redis.Redis.from_url(durable_redis.url) as client:
                assert '"attempts":1' in (client.get(f"learninngest:chat:{request_id}") or b"").decode()

        wait_for(model_called, timeout=30)
        durable_redis.kill9()  # the save step fails, then the failure handler after all its retries

        def handler_gave_up() -> None:
            run_id = rest(engine.url, f"/v1/events/{event_id}/runs")[0]["run_id"]
            failures = rest(engine.url, "/v1/events", name="inngest/function.failed", limit=100)
            ours = [e for e in failures if e["data"]["run_id"] == run_id]
            assert [r["status"] for r in rest(engine.url, f"/v1/events/{ours[0]['internal_id']}/runs")] == [
                "Failed"
            ]

        wait_for(handler_gave_up, timeout=60)
        durable_redis.start()

        def final() -> dict[str, Any]:
            reply = httpx.get(f"{stack.backend_url}/api/v1/chat/result/{request_id}", params={"wait": 5})
            assert reply.status_code == 200 and reply.json()["status"] == "error", reply.text
            return reply.json()

        result = wait_for(final, timeout=30)
        assert "result store" in result["error"] and result["attempts"] == 1
    finally:
        stack.down()
        engine.stop()
