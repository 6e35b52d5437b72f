"""The guard in front of /api/inngest: unreadable bodies are 400s, and the SDK routes stay private."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.worker.serve_guard import sdk_body_problem


@pytest.fixture
def http(sqlite_path: Path) -> Iterator[httpx.Client]:
    """A real backend (its Inngest server is absent: these requests never reach it)."""
    settings = get_settings(
        inngest_base_url=f"http://127.0.0.1:{free_port()}", result_store_url=f"sqlite:///{sqlite_path}"
    )
    with (
        BackgroundServer(create_app(settings), name="backend") as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield client


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "empty"),
        (b"  ", "empty"),
        (b"{nope", "not JSON"),
        (b"[" * 100_000, "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"event": {}}', "missing ctx, steps, use_api"),
        (b'{"ctx": {}, "event": {}, "steps": {}, "use_api": false}', None),
    ],
)
def test_sdk_body_problem(body: bytes, problem: str | None) -> None:
    assert sdk_body_problem(body) == problem


@pytest.mark.parametrize("content", [b"", b"{nope", b"{}"])
def test_post_api_inngest_with_an_unreadable_body_is_400(http: httpx.Client, content: bytes) -> None:
    reply = http.post(
        "/api/inngest",
        params={"fnId": "learninngest-chat-worker", "stepId": "step"},
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert reply.status_code == 400
    assert reply.json()["detail"].startswith(
        "POST /api/inngest takes the JSON object the Inngest server sends"
    )


def test_the_guard_answers_under_a_servers_root_path(sqlite_path: Path) -> None:
    # Behind a proxy that strips /kit, uvicorn --root-path /kit puts the prefix back in front of
    # the scope's path; the router (and the fast path to the SDK) match the path without it,
    # and so must the guard, or the unreadable body reaches the SDK (a 500).
    settings = get_settings(
        inngest_base_url=f"http://127.0.0.1:{free_port()}", result_store_url=f"sqlite:///{sqlite_path}"
    )
    app = create_app(settings)
    with (
        BackgroundServer(app, name="backend", root_path="/kit") as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        reply = client.post(
            "/api/inngest",  # as the proxy forwards it
            params={"fnId": "learninngest-chat-worker", "stepId": "step"},
            content=b"{nope",
            headers={"Content-Type": "application/json"},
        )
        assert reply.status_code == 400
        assert "POST /api/inngest takes the JSON object" in reply.json()["detail"]


def test_sdk_routes_are_not_in_the_public_openapi(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert "/api/inngest" not in paths
    assert "/api/v1/chat" in paths
