"""A real backend on a free port whose Inngest server is absent (nothing listens there).

These tests check what the API answers by itself; the flow through a real Inngest
server is in tests/e2e.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.kit.servers import BackgroundServer, free_port


@pytest.fixture
def dead_inngest_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def backend(sqlite_path: Path, dead_inngest_url: str) -> Iterator[BackgroundServer]:
    port = free_port()
    settings = get_settings(
        port=port,
        inngest_base_url=dead_inngest_url,
        result_store_url=f"sqlite:///{sqlite_path}",
    )
    with BackgroundServer(create_app(settings), name="backend", port=port) as server:
        yield server


@pytest.fixture
def http(backend: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=backend.url, timeout=30) as client:
        yield client
