"""Pure: Server-Sent Events (the text/event-stream wire format), written and read. No IO."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

RECONNECT_MS = 1000
"""Told to EventSource clients: wait this long before reconnecting after a dropped stream."""


def frame(event: str, data: dict[str, Any], event_id: str | None = None) -> bytes:
    """One event; with an id, a reconnecting client sends it back as Last-Event-ID."""
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines.append(f"event: {event}")
    # json.dumps never emits a raw newline, so the data fits on one `data:` line.
    lines.append("data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    return ("\n".join(lines) + "\n\n").encode()


def comment(text: str) -> bytes:
    """A line clients ignore: a heartbeat that keeps proxies from closing a quiet stream."""
    return f": {text}\n\n".encode()


def retry_hint(milliseconds: int = RECONNECT_MS) -> bytes:
    return f"retry: {milliseconds}\n\n".encode()


@dataclass(frozen=True)
class Message:
    """One event as a client reads it (`comment` set for a heartbeat line instead)."""

    event: str = "message"
    data: dict[str, Any] | None = None
    id: str | None = None
    comment: str | None = None


def parse(lines: Iterable[str]) -> Iterator[Message]:
    """Events from a text/event-stream's lines (as httpx's iter_lines gives them), as they come."""
    data: list[str] = []
    event, event_id = "message", None
    for line in lines:
        if line == "":
            if data:
                yield Message(event=event, data=json.loads("\n".join(data)), id=event_id)
            event, data, event_id = "message", [], None
        elif line.startswith(":"):
            yield Message(comment=line[1:].strip())
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                event_id = value
