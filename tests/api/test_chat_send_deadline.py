"""POST /api/v1/chat bounds its event send (EVENT_SEND_TIMEOUT_S) and a late event still counts.

The engine is a real `learninngest engine` process frozen with SIGSTOP: its socket
accepts the send, but nothing answers. Without a deadline the SDK waits 30 s per try,
with retries. After SIGCONT the engine reads the event it was sent, and its run must
still be able to finish the request: a send that timed out leaves the request pending.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer, free_port
from tests.processes import Processes
from tests.support import wait_for

QUERY = {"query": "What is the capital of France?"}


def runs_of_request(engine_url: str, request_id: str) -> list[dict[str, Any]]:
    """Every run started by an event sent with this request's id (also a de-duplicated re-send)."""
    events = httpx.get(f"{engine_url}/v1/events", params={"name": "app/chat.requested", "limit": 100}).json()
    runs = []
    for event in events["data"]:
        if event["id"] == request_id:
            runs += httpx.get(f"{engine_url}/v1/events/{event['internal_id']}/runs").json()["data"]
    return runs


# Its own deadlines: readiness 30 s + the refused send (client timeout 20 s) + outcome 30 s.
@pytest.mark.timeout(150)
def test_a_frozen_engine_gets_a_quick_503_and_the_late_event_still_finishes_the_request(
    processes: Processes, tmp_path: Path
) -> None:
    engine_port = free_port()
    settings = get_settings(
        port=free_port(),
        inngest_base_url=f"http://127.0.0.1:{engine_port}",
        result_store_url=f"sqlite:///{tmp_path / 'results.db'}",
        event_send_timeout_s=1,
        reconcile_interval_s=0,  # this test is about the run finishing the record by itself
    )
    with BackgroundServer(create_app(settings), name="backend", port=settings.port) as backend:
        engine = processes.engine(engine_port, f"{backend.url}/api/inngest")
        wait_for(lambda: httpx.get(f"{backend.url}/readyz").raise_for_status(), timeout=90)

        engine.signal(signal.SIGSTOP)
        try:
            # A client timeout far below the SDK's own retries (30 s per try): only our deadline fits.
            refused = httpx.post(
                f"{backend.url}/api/v1/chat", json=QUERY, headers={"Idempotency-Key": "k1"}, timeout=20
            )
            assert refused.status_code == 503
            body = refused.json()
            assert "did not confirm the event within 1 s (EVENT_SEND_TIMEOUT_S)" in body["detail"]
            request_id = body["request_id"]
            pending = httpx.get(f"{backend.url}/api/v1/chat/result/{request_id}").json()
            assert pending["status"] == "pending"  # not `error`: the event may still arrive
        finally:
            engine.signal(signal.SIGCONT)

        def final() -> dict[str, Any]:
            result = httpx.get(f"{backend.url}/api/v1/chat/result/{request_id}", params={"wait": 5}).json()
            assert result["status"] != "pending", result
            return result

        result = wait_for(final, timeout=30)
        assert result["status"] == "done" and "Paris" in result["content"]

        # The client retries with its key: the same request, and still one run.
        replay = httpx.post(f"{backend.url}/api/v1/chat", json=QUERY, headers={"Idempotency-Key": "k1"})
        assert replay.status_code == 202 and replay.json()["request_id"] == request_id
        assert [run["status"] for run in runs_of_request(engine.url, request_id)] == ["Completed"]
