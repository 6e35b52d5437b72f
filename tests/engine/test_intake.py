"""Pure: event API body checks (intake.validate_events)."""

from __future__ import annotations

import json

import pytest

from learninngest.engine.intake import MAX_BODY_BYTES, EventRefused, validate_events


def test_object_or_array() -> None:
    assert validate_events(b'{"name": "a/b", "data": {"x": 1}}') == [{"name": "a/b", "data": {"x": 1}}]
    two = validate_events(b'[{"name": "a"}, {"name": "b", "id": "i", "ts": 5, "data": null}]')
    assert two == [{"name": "a", "data": {}}, {"name": "b", "data": {}, "id": "i", "ts": 5}]


def test_internal_metadata_is_stripped() -> None:
    assert validate_events(b'{"name": "a", "data": {"_inngest": {"x": 1}, "k": 2}}')[0]["data"] == {"k": 2}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"not json", "not valid JSON"),
        (b'"text"', "must be a JSON object"),
        (b"{}", "name"),
        (b'{"name": ""}', "name"),
        (b'{"name": "inngest/function.failed"}', "reserved"),
        (b'{"name": "a", "data": [1]}', "data"),
        (b'{"name": "a", "ts": "now"}', "ts"),
        (b'{"name": "a", "id": 5}', "id"),
        (b'[{"name": "ok"}, {"name": "inngest/x"}]', "event 1"),
    ],
)
def test_refused_with_a_reason(body: bytes, words: str) -> None:
    with pytest.raises(EventRefused, match=words) as info:
        validate_events(body)
    assert info.value.status == 400


def test_oversized() -> None:
    with pytest.raises(EventRefused) as info:
        validate_events(json.dumps({"name": "a", "data": {"x": "y" * 300_000}}).encode())
    assert info.value.status == 413
    with pytest.raises(EventRefused) as info:
        validate_events(b" " * (MAX_BODY_BYTES + 1))
    assert info.value.status == 413
