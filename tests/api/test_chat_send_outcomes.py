"""POST /api/v1/chat answers what really happened to the event, also when the backend stops.

- The event was sent but its ids could not be recorded: the request runs, so the answer
  is 202 (a 503 would tell the client it did not, and it would run anyway).
- The backend stops while the send is in flight (its graceful-shutdown deadline cancels
  the request, as `up --workers` does after a child's kill -9): 503 with the request id,
  as the send deadline answers, not a 500 with a traceback.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer, free_port
from tests.e2e.conftest import make_stack
from tests.processes import Processes
from tests.support import wait_for

QUERY = {"query": "What is the capital of France?"}

# A real SQLite failure on the one write POST makes after the send: recording the event ids.
REFUSE_EVENT_IDS = """
CREATE TRIGGER refuse_event_ids BEFORE UPDATE OF event_ids ON chat_records
WHEN NEW.status = 'pending' AND NEW.event_ids != OLD.event_ids
BEGIN SELECT RAISE(ABORT, 'disk full (a test trigger)'); END;
"""


@pytest.mark.timeout(90)
def test_an_event_sent_but_not_recorded_is_still_accepted_and_runs(tmp_path: Path) -> None:
    stack = make_stack(tmp_path).up()
    try:
        with httpx.Client(base_url=stack.backend_url, timeout=30) as http:
            http.get("/api/v1/chat/result/x")  # the store makes its tables on first use
            with sqlite3.connect(tmp_path / "results.db") as db:
                db.executescript(REFUSE_EVENT_IDS)

            accepted = http.post("/api/v1/chat", json=QUERY)
            assert accepted.status_code == 202, accepted.text
            request_id = accepted.json()["request_id"]

            def final() -> dict[str, Any]:
                result = http.get(f"/api/v1/chat/result/{request_id}", params={"wait": 5}).json()
                assert result["status"] != "pending", result
                return result

            result = wait_for(final, timeout=60)
            assert result["status"] == "done" and "Paris" in result["content"]
    finally:
        stack.down()


@pytest.mark.timeout(120)
def test_a_send_cut_short_by_the_backend_stopping_answers_503_with_the_request_id(
    processes: Processes, tmp_path: Path
) -> None:
    engine_port = free_port()
    store = tmp_path / "results.db"
    settings = get_settings(
        port=free_port(),
        inngest_base_url=f"http://127.0.0.1:{engine_port}",
        result_store_url=f"sqlite:///{store}",
        event_send_timeout_s=25,  # longer than the stop's 3 s grace: the stop cuts the send short
        reconcile_interval_s=0,
    )
    backend = BackgroundServer(create_app(settings), name="backend", port=settings.port).start()
    engine = processes.engine(engine_port, f"{backend.url}/api/inngest")
    try:
        wait_for(lambda: httpx.get(f"{backend.url}/readyz").raise_for_status(), timeout=30)
        engine.signal(signal.SIGSTOP)  # it takes the connection but never answers the send
        replies: list[httpx.Response] = []
        poster = threading.Thread(
            target=lambda: replies.append(httpx.post(f"{backend.url}/api/v1/chat", json=QUERY, timeout=60))
        )
        poster.start()

        def pending_row() -> None:
            with sqlite3.connect(store) as db:
                assert db.execute("SELECT count(*) FROM chat_records").fetchone()[0] == 1

        wait_for(pending_row, timeout=30)  # the POST is now inside the send
        backend.stop()
        poster.join(60)
        assert replies, "the POST got no answer"
        reply = replies[0]
        assert reply.status_code == 503, reply.text
        body = reply.json()
        assert "stopped while sending the event" in body["detail"]
        with sqlite3.connect(store) as db:
            row = db.execute("SELECT request_id, status FROM chat_records").fetchone()
        assert (body["request_id"], "pending") == tuple(row)  # it may still run: not an error
    finally:
        engine.signal(signal.SIGCONT)
        backend.stop()
