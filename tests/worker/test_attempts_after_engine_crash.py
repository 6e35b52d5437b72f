"""`attempts` counts the LLM calls really made, also when a step is delivered twice.

Inngest delivers a step at least once: if the Inngest server dies (kill -9) while the
model is answering, the step's result is lost and the restarted server calls it again,
with the same attempt number. The record must say the model was called twice.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.store.sqlite import SQLiteStore
from tests.processes import Processes
from tests.support import wait_for


# Its own deadlines: engine start 30 s + model called 30 s + restart + outcome 60 s.
@pytest.mark.timeout(200)
def test_a_step_repeated_after_an_engine_crash_counts_two_attempts(
    processes: Processes, tmp_path: Path
) -> None:
    engine_port, engine_db = free_port(), tmp_path / "engine.db"
    settings = get_settings(
        port=free_port(),
        inngest_base_url=f"http://127.0.0.1:{engine_port}",
        result_store_url=f"sqlite:///{tmp_path / 'results.db'}",
    )
    store = SQLiteStore(settings.result_store_url)
    with BackgroundServer(create_app(settings), name="backend", port=settings.port) as backend:
        app_url = f"{backend.url}/api/inngest"
        engine = processes.engine(engine_port, app_url, db=engine_db)
        wait_for(lambda: httpx.get(f"{backend.url}/readyz").raise_for_status(), timeout=90)

        accepted = httpx.post(
            f"{backend.url}/api/v1/chat", json={"query": "[fault:slow=20000] What is the capital of France?"}
        ).json()
        request_id = accepted["request_id"]

        def model_called() -> None:
            record = asyncio.run(store.get(request_id))
            assert record is not None and record.attempts == 1

        wait_for(model_called, timeout=30)
        # While the model is answering (only this first call is slowed, by 20 s: room for a busy
        # machine to get here): the step's result has nowhere to go.
        engine.kill9()
        processes.engine(engine_port, app_url, db=engine_db)  # the same state: the run goes on

        def final() -> dict[str, Any]:
            result = httpx.get(f"{backend.url}/api/v1/chat/result/{request_id}", params={"wait": 5}).json()
            assert result["status"] != "pending", result
            return result

        result = wait_for(final, timeout=60)
    assert result["status"] == "done" and "Paris" in result["content"]
    assert result["attempts"] == 2  # the model was called twice, once per delivery of the step
