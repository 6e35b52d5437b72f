"""The offline model over real HTTP (uvicorn in a thread), as the backend reaches any provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from learninngest.config import Settings
from learninngest.kit.servers import BackgroundServer
from learninngest.offline_model.app import OfflineModelConfig, create_offline_model_app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def offline_model() -> Iterator[BackgroundServer]:
    # A [fault:timeout] hangs 5 s here (not 120 s), so stopping the server never waits long.
    app = create_offline_model_app(OfflineModelConfig(timeout_s=5))
    with BackgroundServer(app, name="offline-model") as server:
        yield server


@pytest.fixture
def settings(offline_model: BackgroundServer) -> Settings:
    return Settings(llm_provider="offline", offline_model_url=offline_model.url + "/v1", llm_timeout_s=10)
