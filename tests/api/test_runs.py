"""GET /api/v1/chat/{id}/runs: 404 for an unknown request; no event, no runs.

The runs of a real request, read from the engine's REST API (and 503 when it is
down), are checked end to end in tests/e2e/test_flow.py.
"""

from __future__ import annotations

import httpx


def test_runs_of_unknown_request_is_404(http: httpx.Client) -> None:
    reply = http.get("/api/v1/chat/nope/runs")
    assert reply.status_code == 404
    assert reply.json()["detail"].startswith("No chat request with id 'nope'.")


def test_a_request_that_was_never_enqueued_has_no_runs(http: httpx.Client) -> None:
    request_id = http.post("/api/v1/chat", json={"query": "hello"}).json()["request_id"]  # 503: not sent
    body = http.get(f"/api/v1/chat/{request_id}/runs").json()
    assert body == {"request_id": request_id, "event_ids": [], "runs": []}
