"""Fixtures of the engine tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engine.harness import EngineLog
from tests.support import capture_log


@pytest.fixture
def engine_log() -> Iterator[EngineLog]:
    """The `learninngest.engine` logger's lines while the test runs."""
    with capture_log("learninngest.engine", "%(levelname)s %(message)s") as lines:
        yield lines
