"""The offline model on a free port, recording each request it receives (for step.ai.infer cases)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response

from learninngest.kit.servers import BackgroundServer
from learninngest.offline_model.app import OfflineModelConfig, create_offline_model_app


@dataclass
class RecordedModel:
    url: str  # its OpenAI-compatible base URL (…/v1)
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)

    def paths(self) -> list[str]:
        return [path for path, _ in self.seen]


@contextlib.contextmanager
def recorded_offline_model() -> Iterator[RecordedModel]:
    model = create_offline_model_app(OfflineModelConfig(latency_mean_ms=0, latency_spread_ms=0))
    recorded = RecordedModel(url="")

    @model.middleware("http")
    async def record(request: Request, call_next: Any) -> Response:
        recorded.seen.append((request.url.path, request.headers.get("authorization")))
        return await call_next(request)  # type: ignore[no-any-return]

    with BackgroundServer(model, name="offline-model") as server:
        recorded.url = f"{server.url}/v1"
        yield recorded
