"""Pure: event API body checks (intake.validate_events)."""

from __future__ import annotations

import json
from typing import Any

import inngest
import pytest
from inngest._internal.errors import SendEventsError  # not exported by inngest 0.5

from learninngest.engine.run.intake import (
    MAX_BODY_BYTES,
    MAX_EVENT_BYTES,
    MAX_EVENTS,
    EventRefused,
    validate_events,
)
from tests.engine.harness import local_engine, served


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


def test_the_dev_servers_size_limits() -> None:
    # 3 MiB per event, measured on its JSON as sent: just under is fine, in an object or an array.
    pad = len(json.dumps({"name": "a", "data": {"x": ""}}))
    fits = json.dumps({"name": "a", "data": {"x": "y" * (MAX_EVENT_BYTES - pad)}})
    assert len(fits) == MAX_EVENT_BYTES
    assert len(validate_events(fits.encode())) == 1
    assert len(validate_events(f"[{fits}, {fits}, {fits}]".encode())) == 3  # a 9 MiB body
    over = json.dumps({"name": "a", "data": {"x": "y" * (MAX_EVENT_BYTES - pad + 1)}})
    with pytest.raises(
        EventRefused, match=f"event 1: Event is over the max size: Max {MAX_EVENT_BYTES}"
    ) as info:
        validate_events(f'[{{"name": "small"}}, {over}]'.encode())
    assert info.value.status == 400  # as the Dev Server answers
    assert info.value.accepted == [{"name": "small", "data": {}}]  # the events before it count
    # Multi-byte characters count as the bytes they take.
    wide = json.dumps({"name": "a", "data": {"x": "é" * (MAX_EVENT_BYTES // 2)}}, ensure_ascii=False)
    with pytest.raises(EventRefused, match="over the max size"):
        validate_events(wide.encode())


def test_at_most_5000_events() -> None:
    assert len(validate_events(json.dumps([{"name": "a"}] * MAX_EVENTS).encode())) == MAX_EVENTS
    with pytest.raises(EventRefused, match="Cannot have more than 5000 events") as info:
        validate_events(json.dumps([{"name": "a"}] * (MAX_EVENTS + 1)).encode())
    assert info.value.status == 400 and len(info.value.accepted) == MAX_EVENTS


def test_the_engines_own_body_cap() -> None:
    with pytest.raises(EventRefused, match="this engine's limit") as info:
        validate_events(b" " * (MAX_BODY_BYTES + 1))
    assert info.value.status == 413


def test_an_8_mib_send_through_the_sdk() -> None:
    """inngest-py's own suite sends 8 MiB in one send; the Dev Server takes it, so must we."""

    def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
        @client.create_function(fn_id="size", trigger=inngest.TriggerEvent(event="big/one"))
        async def size(ctx: inngest.Context) -> int:
            return len(ctx.event.data["blob"])

        return [size]

    with local_engine() as host, served(host, "big-app", make_functions) as ctx:
        blob = "z" * (2 * 1024 * 1024)
        events = [inngest.Event(name="big/one", data={"blob": blob, "i": i}) for i in range(4)]
        ids = ctx.client.send_sync(events)
        assert len(ids) == 4
        assert ctx.wait_run(ids[3])["output"] == len(blob)
        too_big = inngest.Event(name="big/one", data={"blob": "z" * MAX_EVENT_BYTES})
        with pytest.raises(SendEventsError, match="over the max size"):
            ctx.client.send_sync(too_big)
