"""The state's JSON columns (state/models.py): json_text and json_load are json.dumps and json.loads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from learninngest.engine.state.models import json_load, json_text

VALUES: list[Any] = [
    [],
    {},
    None,
    0,
    -1.5,
    float("nan"),
    "é \U0001f600 \x00",
    ["a" * 40],
    {"h": {"data": {"text": "Paris", "usage": [1, 2]}}, "n": None, "t": True},
    [{"kind": "ai", "step_id": "s", "deadline": None}],
    {"1": [[], {}, [[]]]},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_text_and_value_are_json_dumps_and_loads(value: Any) -> None:
    text = json_text(value)
    assert text == json.dumps(value, separators=(",", ":"))
    assert repr(json_load(text)) == repr(json.loads(text))


def test_empty_containers_are_fresh_objects() -> None:
    first, second = json_load("[]"), json_load("[]")
    first.append(1)
    assert second == [] and json_load("{}") is not json_load("{}")


@pytest.mark.parametrize("text", [' {"a": 1} ', "[1, 2]\n", "\t3"])
def test_whitespace_reads_as_json_loads_reads_it(text: str) -> None:
    assert json_load(text) == json.loads(text)


@pytest.mark.parametrize("text", ["", "[1,", "[]x", "{} {}", "nul", '"\x01"'])
def test_bad_text_raises_what_json_loads_raises(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as ours:
        json_load(text)
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(text)
    assert (ours.value.msg, ours.value.pos) == (theirs.value.msg, theirs.value.pos)
