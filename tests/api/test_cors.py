"""CORS origins come from settings; credentials are never combined with '*' or 'null'."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer


@pytest.fixture
def cors_backend(sqlite_path: Path) -> Iterator[BackgroundServer]:
    settings = get_settings(
        cors_origins=["http://app.test"],
        cors_allow_credentials=True,
        result_store_url=f"sqlite:///{sqlite_path}",
    )
    with BackgroundServer(create_app(settings), name="backend") as server:
        yield server


def _preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(
        f"{url}/api/v1/chat",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )


def test_listed_origin_is_allowed_with_credentials(cors_backend: BackgroundServer) -> None:
    reply = _preflight(cors_backend.url, "http://app.test")
    assert reply.status_code == 200
    assert reply.headers["access-control-allow-origin"] == "http://app.test"
    assert reply.headers["access-control-allow-credentials"] == "true"


def test_other_origin_is_refused(cors_backend: BackgroundServer) -> None:
    reply = _preflight(cors_backend.url, "http://evil.test")
    assert reply.status_code == 400
    assert "access-control-allow-origin" not in reply.headers


def test_no_cors_headers_by_default(http: httpx.Client) -> None:
    reply = http.get("/healthz", headers={"Origin": "http://app.test"})
    assert "access-control-allow-origin" not in reply.headers


def test_null_origin_is_refused(cors_backend: BackgroundServer) -> None:
    # Settings refuse CORS_ORIGINS=null with credentials (tests/test_config.py); unlisted, it is refused.
    reply = _preflight(cors_backend.url, "null")
    assert reply.status_code == 400
    assert "access-control-allow-origin" not in reply.headers
