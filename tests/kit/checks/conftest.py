"""One stack per test module (the exercises' settings: the engine's clock 100x fast, state in
memory): every answer a module tries registers on it under the task's fn_id, replacing the last."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from learninngest import kit
from learninngest.kit.stack import Stack


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    kit.down()  # a stack another module left (kit.up would hand it back, with its own settings)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ENGINE_TIME_SCALE", "0.01")
        env.setenv("ENGINE_DB", "memory")
        env.setenv("RESULT_STORE_URL", "memory://")
        env.setenv("LOG_LEVEL", "ERROR")
        yield kit.up()
    kit.down()


def verdict(result: str, *patterns: str) -> None:
    """A NotYet verdict whose sentence matches each pattern (a regular expression)."""
    assert result.startswith("NotYet: "), result
    for pattern in patterns:
        assert re.search(pattern, result), f"{pattern!r} not in {result!r}"
