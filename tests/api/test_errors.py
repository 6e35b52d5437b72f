"""503s in production mode (INNGEST_DEV=0): a generic message for the client, the detail
(internal addresses, settings) in the log. Dev mode keeps the hints (tests/api/test_chat.py)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.store.base import ChatRecord, Status
from tests.engine.harness import local_engine
from tests.support import capture_log, wait_for

SIGNING_KEY = "signkey-test-" + "ab12" * 16


def production_backend(inngest_url: str, store_url: str, **extra: Any) -> BackgroundServer:
    port = free_port()
    settings = get_settings(
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        inngest_dev="0",
        inngest_base_url=inngest_url,
        inngest_signing_key=SIGNING_KEY,
        inngest_event_key="test-event-key",
        result_store_url=store_url,
        **extra,
    )
    return BackgroundServer(create_app(settings), name="backend", port=port)


@pytest.fixture
def dead_port() -> int:
    return free_port()


@pytest.fixture
def api_log() -> Iterator[list[str]]:
    with capture_log("learninngest.api", "%(levelname)s [%(request_id)s] %(message)s") as lines:
        yield lines.lines


def test_inngest_down_is_a_generic_503_in_production(
    sqlite_path: Path, dead_port: int, api_log: list[str]
) -> None:
    with production_backend(f"http://127.0.0.1:{dead_port}", f"sqlite:///{sqlite_path}") as backend:
        reply = httpx.post(f"{backend.url}/api/v1/chat", json={"query": "hello"}, timeout=30)
        result = httpx.get(f"{backend.url}/api/v1/chat/result/{reply.json()['request_id']}").json()
        ready = httpx.get(f"{backend.url}/readyz")
    assert reply.status_code == 503
    assert reply.json()["detail"] == (
        "The background queue is unavailable, so the request was not accepted. Retry in a moment."
    )
    assert (result["status"], result["error"]) == ("error", reply.json()["detail"])
    assert ready.status_code == 503 and ready.json()["checks"]["inngest"] == "not ready"
    for body in (reply.text, str(result), ready.text):
        assert str(dead_port) not in body and "INNGEST_BASE_URL" not in body
    request_id = reply.json()["request_id"]
    sent = [x for x in api_log if "Could not send the event" in x]
    assert len(sent) == 1 and str(dead_port) in sent[0] and f"[{request_id}]" in sent[0], api_log
    assert any(
        f"readiness: inngest not ready: cannot reach http://127.0.0.1:{dead_port}" in x for x in api_log
    )


def test_redis_down_is_a_generic_503_in_production(dead_port: int, api_log: list[str]) -> None:
    redis_port = free_port()
    with production_backend(f"http://127.0.0.1:{dead_port}", f"redis://127.0.0.1:{redis_port}/0") as backend:
        reply = httpx.get(f"{backend.url}/api/v1/chat/result/01J0000000000000000000000A", timeout=30)
        ready = httpx.get(f"{backend.url}/readyz", timeout=30).json()
    assert reply.status_code == 503
    assert reply.json() == {"detail": "The result store is unavailable. Retry in a moment."}
    assert ready["checks"]["store"] == "not ready"
    assert str(redis_port) not in reply.text and str(redis_port) not in str(ready)
    assert any(f"127.0.0.1:{redis_port}" in line for line in api_log)


def test_dev_mode_keeps_the_hint(dead_port: int) -> None:
    settings = get_settings(
        inngest_base_url=f"http://127.0.0.1:{dead_port}",
        result_store_url=f"redis://127.0.0.1:{free_port()}/0",
    )
    with BackgroundServer(create_app(settings), name="backend") as backend:
        reply = httpx.get(f"{backend.url}/api/v1/chat/result/01J0000000000000000000000A", timeout=30)
    assert reply.status_code == 503 and "Check RESULT_STORE_URL" in reply.json()["detail"]


def test_runs_unavailable_is_a_generic_503_in_production(sqlite_path: Path, api_log: list[str]) -> None:
    # The engine holds another signing key: events go in (event key), the REST API says 401.
    other = "signkey-test-" + "cd34" * 16
    with (
        local_engine(signing_key=other, event_key="test-event-key") as engine,
        production_backend(engine.url, f"sqlite:///{sqlite_path}") as backend,
    ):
        accepted = httpx.post(f"{backend.url}/api/v1/chat", json={"query": "hello"}, timeout=30)
        assert accepted.status_code == 202, accepted.text
        reply = httpx.get(f"{backend.url}/api/v1/chat/{accepted.json()['request_id']}/runs")
    assert reply.status_code == 503
    assert reply.json() == {"detail": "The run history is unavailable right now. Retry in a moment."}
    assert any(f"The Inngest REST API answered 401 for {engine.url}/v1/events/" in x for x in api_log)


def test_send_deadline_is_a_generic_503_in_production(sqlite_path: Path, api_log: list[str]) -> None:
    # A socket that listens but never accepts: the send connects (backlog) and no answer comes.
    with socket.create_server(("127.0.0.1", 0), backlog=16) as silent:
        port = silent.getsockname()[1]
        with production_backend(
            f"http://127.0.0.1:{port}", f"sqlite:///{sqlite_path}", event_send_timeout_s=1
        ) as backend:
            reply = httpx.post(f"{backend.url}/api/v1/chat", json={"query": "hello"}, timeout=30)
    assert reply.status_code == 503, reply.text
    assert reply.json()["detail"] == (
        "The background queue did not confirm the request in time; it may still run. Read its "
        "result with the request_id, or retry with the same Idempotency-Key (no second run)."
    )
    assert str(port) not in reply.text and "EVENT_SEND_TIMEOUT_S" not in reply.text
    request_id = reply.json()["request_id"]
    assert any("enqueue unconfirmed" in x and f"[{request_id}]" in x for x in api_log), api_log


def test_too_many_waiters_is_a_generic_503_in_production(dead_port: int, api_log: list[str]) -> None:
    backend = production_backend(f"http://127.0.0.1:{dead_port}", "memory://", long_poll_max_waiters=1)
    with backend:
        store = backend.app.state.store
        asyncio.run(store.create(ChatRecord(request_id="r1", query="q")))
        url = f"{backend.url}/api/v1/chat/result/r1"
        first = threading.Thread(target=lambda: httpx.get(url, params={"wait": 20}, timeout=60))
        first.start()
        wait_for(lambda: _assert_equal(backend.app.state.waiters.count, 1))
        refused = httpx.get(url, params={"wait": 5}, timeout=30)
        asyncio.run(store.finish("r1", status=Status.done, content="Paris"))
        backend.app.state.waiters.notify("r1")  # the first poll ends now, not at its deadline
    first.join(60)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert refused.json() == {"detail": "This server is busy. Retry after 1 s, or poll without ?wait."}
    assert any("LONG_POLL_MAX_WAITERS=1" in x and "[r1]" in x for x in api_log), api_log


def _assert_equal(actual: object, expected: object) -> None:
    assert actual == expected
