"""The offline model as a real server, for worker tests that call the LLM over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from learninngest.kit.servers import BackgroundServer
from learninngest.offline_model.app import OfflineModelConfig, create_offline_model_app


@pytest.fixture(scope="module")
def offline_model() -> Iterator[BackgroundServer]:
    app = create_offline_model_app(OfflineModelConfig(retry_after_s=0))
    with BackgroundServer(app, name="offline-model") as server:
        yield server
