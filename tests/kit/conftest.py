"""A running stack for the kit's tests, on a SQLite file of the test's own and an in-memory engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from learninngest import kit
from learninngest.kit.stack import Stack


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("RESULT_STORE_URL", f"sqlite:///{tmp_path / 'results.db'}")
    monkeypatch.setenv("ENGINE_DB", "memory")
    monkeypatch.setenv("ENGINE_TIME_SCALE", "0.01")
    yield kit.up()
    kit.down()
