"""/healthz is always alive; /readyz names the part that is not ready."""

from __future__ import annotations

import httpx


def test_healthz(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}


def test_readyz_names_the_unreachable_inngest_server(http: httpx.Client, dead_inngest_url: str) -> None:
    reply = http.get("/readyz")
    assert reply.status_code == 503
    body = reply.json()
    assert body["checks"]["store"] == "ok"
    assert body["checks"]["llm"] == "ok (offline)"
    assert body["checks"]["inngest"].startswith(f"not ready: cannot reach {dead_inngest_url}/health")


def test_swagger_and_openapi_are_served(http: httpx.Client) -> None:
    assert http.get("/docs").status_code == 200
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/api/v1/chat", "/api/v1/chat/result/{request_id}", "/api/v1/chat/{request_id}/runs"} <= set(
        paths
    )


def test_runs_of_unknown_request_is_404(http: httpx.Client) -> None:
    assert http.get("/api/v1/chat/nope/runs").status_code == 404
