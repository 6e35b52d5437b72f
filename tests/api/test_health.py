"""/healthz is always alive; /readyz names the part that is not ready."""

from __future__ import annotations

import re

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


def test_swagger_and_openapi_are_served_without_a_cdn(http: httpx.Client) -> None:
    page = http.get("/docs").text
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+\.(?:js|css))['"]""", page)
    assert assets and all(url.startswith("/") for url in assets), assets  # nothing from the internet
    assert all(http.get(url).status_code == 200 for url in assets)
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/api/v1/chat", "/api/v1/chat/result/{request_id}", "/api/v1/chat/{request_id}/runs"} <= set(
        paths
    )


def test_readyz_says_when_the_app_is_not_synced_with_the_engine(sqlite_path) -> None:  # noqa: ANN001
    from learninngest.app import create_app
    from learninngest.config import get_settings
    from learninngest.engine.app import create_engine_app
    from learninngest.engine.settings import EngineSettings
    from learninngest.kit.servers import BackgroundServer

    with BackgroundServer(create_engine_app(EngineSettings(db_path=None)), name="engine") as engine:
        settings = get_settings(inngest_base_url=engine.url, result_store_url=f"sqlite:///{sqlite_path}")
        with BackgroundServer(create_app(settings), name="backend") as backend:
            before = httpx.get(f"{backend.url}/readyz")
            httpx.put(f"{backend.url}/api/inngest", timeout=10)  # what `engine -u` does at start-up
            after = httpx.get(f"{backend.url}/readyz")
    assert before.status_code == 503
    assert before.json()["checks"]["inngest"].startswith(
        f"not ready: app 'learninngest' is not synced with {engine.url}; "
        "start it with `learninngest engine -u"
    )
    assert after.status_code == 200
