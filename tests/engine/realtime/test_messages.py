"""Pure: a message's topics and its JSON as subscribers get it (the server's streamingtypes)."""

from __future__ import annotations

import json

from learninngest.engine.realtime.messages import (
    DEV_ENV_ID,
    Kind,
    Message,
    Topic,
    as_json_data,
    chunk_json,
    topic_from,
)


def message(kind: Kind, topic: str = "messages", data: bytes = b'{"a":1}') -> Message:
    return Message(
        kind=kind, data=data, channel="user:1", topic=topic, created_at="2026-01-01T00:00:00.000000Z"
    )


def test_data_goes_to_its_own_topic_only() -> None:
    assert message(Kind.data).topics() == [Topic("user:1", "messages")]


def test_step_output_also_goes_to_step_and_a_run_end_to_run() -> None:
    assert [t.name for t in message(Kind.step, "generate").topics()] == ["$step", "generate"]
    assert [t.name for t in message(Kind.run, "").topics()] == ["$run"]
    assert [t.name for t in message(Kind.run, "custom").topics()] == ["$run", "custom"]


def test_a_frame_has_the_servers_fields_and_leaves_zero_ids_out() -> None:
    frame = json.loads(message(Kind.data).to_json())

    assert frame == {
        "kind": "data",
        "data": {"a": 1},
        "created_at": "2026-01-01T00:00:00.000000Z",
        "channel": "user:1",
        "env_id": DEV_ENV_ID,
        "topic": "messages",
    }


def test_json_stays_json_and_other_text_becomes_a_json_string() -> None:
    assert as_json_data(b'{"x": [1, 2]}') == b'{"x": [1, 2]}'
    assert json.loads(as_json_data(b"hello")) == "hello"


def test_a_chunk_names_its_stream_but_no_channel_or_topic() -> None:
    assert json.loads(chunk_json("s1", "abc", message(Kind.datastream_start))) == {
        "kind": "chunk",
        "stream_id": "s1",
        "data": "abc",
    }


def test_a_topic_from_a_token_request_gets_the_env_of_the_caller() -> None:
    topic = topic_from({"channel": "c", "name": "t", "kind": "run", "env_id": "other"}, env_id=DEV_ENV_ID)

    assert topic == Topic("c", "t") and topic.key == f"{DEV_ENV_ID}:c:t"
