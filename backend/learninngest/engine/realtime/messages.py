"""Pure: Realtime's topics and messages, shaped as the Dev Server writes them to subscribers.

A message is published on a channel (any string; a run id, "user:123"...) and a topic (a
name within it). Subscribers name the (channel, topic) pairs they want in their token; the
broker hands a message to each subscriber of any of the message's topics. Field names and
the JSON shape follow the server's `streamingtypes.Message` and `Chunk`: zero ids left out,
`topic` always present, `data` raw JSON (text that is not JSON becomes a JSON string).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

DEV_ACCOUNT_ID = "00000000-0000-4000-a000-000000000000"
"""The Dev Server's fixed account and environment ids (consts.DevServerAccountID / EnvID)."""
DEV_ENV_ID = "00000000-0000-4000-b000-000000000000"

MAX_MESSAGE_BYTES = 512 * 1024
"""A published body is read up to this (consts.MaxStreamingMessageSizeBytes); the rest is cut."""
CHUNK_BYTES = 1024
"""A `text/stream` body goes out in chunks of this size (consts.StreamingChunkSize)..."""
MAX_CHUNKS = 1000
"""...at most this many of them (consts.MaxStreamingChunks)."""
STREAM_TOPIC = "$stream"
"""The topic raw bytes from /publish/tee go to (the Durable Endpoints' convention)."""


class Kind(StrEnum):
    step = "step"
    run = "run"
    data = "data"
    datastream_start = "datastream-start"
    datastream_end = "datastream-end"
    chunk = "chunk"
    event = "event"
    ping = "ping"
    sub = "sub"
    unsub = "unsub"
    closing = "closing"


class TopicKind(StrEnum):
    run = "run"
    event = "event"


@dataclass(frozen=True)
class Topic:
    """What a subscriber listens to. `env_id` scopes it; the token route fills it in."""

    channel: str
    name: str
    kind: TopicKind = TopicKind.run
    env_id: str = DEV_ENV_ID

    @property
    def key(self) -> str:
        """The broker's key: run topics by env, channel and name; event topics by env and name."""
        if self.kind is TopicKind.run:
            return f"{self.env_id}:{self.channel}:{self.name}"
        return f"{self.env_id}:{self.name}"

    def to_claim(self) -> dict[str, str]:
        return {"kind": str(self.kind), "env_id": self.env_id, "channel": self.channel, "name": self.name}


class BadTopic(ValueError):
    """A topic in a token request or a claim that is not `{kind, channel, name}`."""


def topic_from(value: Any, env_id: str | None = None) -> Topic:
    """A topic from its JSON form (a token request's item, a claim); `env_id` overrides its own."""
    if not isinstance(value, dict):
        raise BadTopic("each topic must be an object like {'kind': 'run', 'channel': ..., 'name': ...}")
    try:
        kind = TopicKind(value.get("kind") or "run")
    except ValueError as exc:
        raise BadTopic(f"topic kind must be 'run' or 'event', not {value.get('kind')!r}") from exc
    channel, name = value.get("channel", ""), value.get("name", "")
    if not isinstance(channel, str) or not isinstance(name, str):
        raise BadTopic("a topic's channel and name must be strings")
    env = env_id or value.get("env_id") or DEV_ENV_ID
    return Topic(channel=channel, name=name, kind=kind, env_id=str(env))


def now_rfc3339() -> str:
    """Go's time.Time in JSON (RFC 3339 with fractional seconds), in UTC."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Message:
    kind: Kind
    data: bytes  # raw JSON
    channel: str
    topic: str
    env_id: str = DEV_ENV_ID
    created_at: str = ""
    metadata: bytes | None = None  # raw JSON, passed through as the publisher sent it
    run_id: str = ""
    fn_id: str = ""
    fn_slug: str = ""

    def topics(self) -> list[Topic]:
        """Every topic this message goes to (step output also to `$step`, run ends to `$run`)."""
        own = Topic(self.channel, self.topic, TopicKind.run, self.env_id)
        if self.kind is Kind.step:
            return [Topic(self.channel, "$step", TopicKind.run, self.env_id), own]
        if self.kind is Kind.run:
            builtin = Topic(self.channel, "$run", TopicKind.run, self.env_id)
            return [builtin] if not self.topic else [builtin, own]
        return [own]

    def to_json(self) -> str:
        """The frame a subscriber gets, keys in the server's order."""
        out: dict[str, Any] = {"kind": str(self.kind), "data": _raw(self.data)}
        if self.metadata:
            out["metadata"] = _raw(self.metadata)
        out["created_at"] = self.created_at or now_rfc3339()
        if self.channel:
            out["channel"] = self.channel
        if self.env_id:
            out["env_id"] = self.env_id
        out["topic"] = self.topic
        for key in ("fn_id", "fn_slug", "run_id"):
            if value := getattr(self, key):
                out[key] = value
        return json.dumps(out, separators=(",", ":"))


def chunk_json(stream_id: str, data: str, message: Message) -> str:
    """One chunk of a `text/stream` publish, as the server writes it: no channel or topic."""
    out: dict[str, Any] = {"kind": str(Kind.chunk), "stream_id": stream_id, "data": data}
    for key in ("fn_id", "fn_slug", "run_id"):
        if value := getattr(message, key):
            out[key] = value
    return json.dumps(out, separators=(",", ":"))


def as_json_data(body: bytes) -> bytes:
    """A published body as message data: valid JSON as it is, anything else as a JSON string."""
    try:
        json.loads(body)
    except ValueError:
        return json.dumps(body.decode("utf-8", errors="replace")).encode()
    return body


def _raw(data: bytes) -> Any:
    # Decoding and encoding again keeps the output one valid JSON document; data is already
    # checked JSON (as_json_data), so this only re-spaces it.
    return json.loads(data)
