"""Cloud mode end to end: the backend with INNGEST_DEV=0 and keys, the engine signing every call.

This is how the backend runs against Inngest Cloud: signed calls to /api/inngest,
an event key to send events, the signing key as bearer on the REST API, and no way for an
unsigned request to move the app to another URL.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from learninngest.app import create_app
from learninngest.config import Settings, get_settings
from learninngest.engine.app import create_engine_app
from learninngest.engine.settings import EngineSettings
from learninngest.kit.servers import BackgroundServer, free_port
from tests.support import capture_log, wait_for

SIGNING_KEY = "signkey-test-" + "ab12" * 16
EVENT_KEY = "test-event-key"


def signed_pair(tmp_path: Path, **backend: object) -> tuple[int, int, EngineSettings, Settings]:
    """A signing engine and a production-mode backend pointed at each other, on free ports."""
    engine_port, backend_port = free_port(), free_port()
    engine_settings = EngineSettings(
        port=engine_port,
        app_urls=[f"http://127.0.0.1:{backend_port}/api/inngest"],
        db_path=None,
        signing_key=SIGNING_KEY,
        event_key=EVENT_KEY,
        time_scale=0.01,
    )
    settings = get_settings(
        port=backend_port,
        public_url=f"http://127.0.0.1:{backend_port}",
        inngest_dev="0",
        inngest_base_url=f"http://127.0.0.1:{engine_port}",
        inngest_signing_key=SIGNING_KEY,
        inngest_event_key=EVENT_KEY,
        result_store_url=f"sqlite:///{tmp_path / 'results.db'}",
        **backend,
    )
    return engine_port, backend_port, engine_settings, settings


def test_signed_round_trip_and_runs_with_the_bearer(tmp_path: Path) -> None:
    engine_port, backend_port, engine_settings, settings = signed_pair(tmp_path)
    with (
        BackgroundServer(create_app(settings), name="backend", port=backend_port) as backend,
        BackgroundServer(create_engine_app(engine_settings), name="engine", port=engine_port) as engine,
    ):
        # A forged-Host sync is refused: it would re-register the app at the attacker's URL,
        # and the engine would send users' prompts there in signed calls.
        forged = httpx.put(f"{backend.url}/api/inngest", headers={"host": "attacker.example"}, timeout=10)
        assert forged.status_code == 401, forged.text
        sync = httpx.post(
            f"{engine.url}/v1/apps/sync", headers={"authorization": f"Bearer {SIGNING_KEY}"}, timeout=10
        ).json()["data"]
        assert [r["ok"] for r in sync] == [True], sync
        accepted = httpx.post(f"{backend.url}/api/v1/chat", json={"query": "What is the capital of France?"})
        assert accepted.status_code == 202
        request_id = accepted.json()["request_id"]
        result = httpx.get(f"{backend.url}/api/v1/chat/result/{request_id}", params={"wait": 20}, timeout=30)
        assert result.json()["status"] == "done"
        assert "Paris" in result.json()["content"]

        def completed() -> list[dict]:
            runs = httpx.get(f"{backend.url}/api/v1/chat/{request_id}/runs").json()["runs"]
            assert runs and runs[0]["status"] == "Completed", runs
            return runs

        wait_for(completed)
        # Without the bearer the engine's REST API refuses, as Inngest Cloud does.
        event_id = accepted.json()["event_ids"][0]
        assert httpx.get(f"{engine.url}/v1/events/{event_id}/runs").status_code == 401
        # Unsigned calls to the backend's /api/inngest are refused by the SDK.
        assert (
            httpx.post(f"{backend.url}/api/inngest?fnId=learninngest-chat-worker&stepId=step").status_code
            == 401
        )


def test_a_provider_failure_stores_no_internal_address_in_production(tmp_path: Path) -> None:
    # An unreachable provider (nothing listens on the port): its URL is the operator's business.
    llm_port = free_port()
    engine_port, backend_port, engine_settings, settings = signed_pair(
        tmp_path,
        llm_provider="openai-compatible",
        llm_base_url=f"http://127.0.0.1:{llm_port}/v1",
        llm_model="x",
        worker_retries=0,
    )
    with (
        capture_log("learninngest.worker", "%(levelname)s [%(request_id)s] %(message)s") as log,
        BackgroundServer(create_app(settings), name="backend", port=backend_port) as backend,
        BackgroundServer(create_engine_app(engine_settings), name="engine", port=engine_port) as engine,
    ):
        sync = httpx.post(
            f"{engine.url}/v1/apps/sync", headers={"authorization": f"Bearer {SIGNING_KEY}"}, timeout=10
        ).json()["data"]
        assert [r["ok"] for r in sync] == [True], sync
        accepted = httpx.post(f"{backend.url}/api/v1/chat", json={"query": "hello"})
        assert accepted.status_code == 202, accepted.text
        request_id = accepted.json()["request_id"]

        def final() -> dict:
            result = httpx.get(f"{backend.url}/api/v1/chat/result/{request_id}", params={"wait": 5}).json()
            assert result["status"] != "pending", result
            return result

        result = wait_for(final, timeout=60)
    assert result["status"] == "error", result
    assert result["error"] == "could not reach the model provider (connection error); see the server log"
    # The detail, host and port included, is in the log, on a line with the request id.
    assert any(f"127.0.0.1:{llm_port}" in x and f"[{request_id}]" in x for x in log.lines), log.lines
