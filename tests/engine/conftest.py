"""Fixtures of the engine tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.engine.harness import EngineLog


@pytest.fixture
def engine_log() -> Iterator[EngineLog]:
    """The `learninngest.engine` logger's lines while the test runs."""
    handler = EngineLog()
    logger = logging.getLogger("learninngest.engine")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
