"""A whole stack through every real server: backend (+ offline model), local engine, sync.

The engine's clock runs 100x faster (time scale 0.01) so retry backoff does not make
the tests wait; the recorded timeline keeps the intended delays.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from learninngest.config import get_settings
from learninngest.kit.stack import Stack


def make_stack(tmp_path: Path, **overrides: object) -> Stack:
    defaults: dict[str, object] = {
        "result_store_url": f"sqlite:///{tmp_path / 'results.db'}",
        "engine_db": str(tmp_path / "engine.db"),
        "engine_time_scale": 0.01,
    }
    settings = get_settings(**{**defaults, **overrides})
    return Stack(settings=settings)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = make_stack(tmp_path).up()
    yield running
    running.down()
