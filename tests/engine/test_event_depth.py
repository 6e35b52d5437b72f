"""A body nested too deep is a 400 at the engine, not a 500 (engine/json_depth.py)."""

from __future__ import annotations

import json

import httpx
import pytest

from learninngest.engine.json_depth import MAX_DEPTH, depth_exceeds, loads_bounded
from tests.engine.harness import local_engine


def nested(depth: int) -> str:
    """An event whose data nests `depth` arrays deep (built as text: json.dumps would recurse)."""
    return '{"name": "deep/thing", "data": {"x": ' + "[" * depth + "]" * depth + "}}"


def test_depth_is_counted_without_recursion() -> None:
    assert not depth_exceeds({"a": [1, {"b": 2}]}, 3)
    assert depth_exceeds({"a": [1, {"b": {}}]}, 3)
    assert not depth_exceeds("text", 0)
    value = loads_bounded("[" * 90 + "]" * 90)
    assert isinstance(value, list)
    for text in ("[" * 100_000 + "]" * 100_000, "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)):
        with pytest.raises(ValueError, match=f"nested deeper than {MAX_DEPTH} levels"):
            loads_bounded(text)


def test_an_event_nested_100000_deep_is_refused_with_400_and_a_shallow_one_is_taken() -> None:
    with local_engine() as host:
        deep = httpx.post(f"{host.url}/e/key", content=nested(100_000), timeout=30)
        assert deep.status_code == 400, deep.text[:300]
        assert f"nested deeper than {MAX_DEPTH} levels" in deep.json()["error"]

        fine = httpx.post(f"{host.url}/e/key", content=nested(50))
        assert fine.status_code == 200 and len(fine.json()["ids"]) == 1
        assert httpx.get(f"{host.url}/health").status_code == 200


def test_a_register_body_nested_too_deep_is_refused_with_400() -> None:
    with local_engine() as host:
        body = '{"url": "http://127.0.0.1:9/api/inngest", "functions": ' + "[" * 5000 + "]" * 5000 + "}"
        reply = httpx.post(f"{host.url}/fn/register", content=body)
        assert reply.status_code == 400
        assert json.loads(reply.text)["error"] == "register body is not valid JSON"
