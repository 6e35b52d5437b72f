"""The SSE wire format, written and read back (pure)."""

from __future__ import annotations

from learninngest.stream.sse import Message, comment, frame, parse, retry_hint


def lines_of(*chunks: bytes) -> list[str]:
    return b"".join(chunks).decode().split("\n")


def test_a_frame_has_id_event_and_one_data_line() -> None:
    raw = frame("token", {"text": "line one\nline two"}, "7")
    assert raw == b'id: 7\nevent: token\ndata: {"text":"line one\\nline two"}\n\n'


def test_frames_parse_back_with_comments_and_retry_skipped_or_kept() -> None:
    raw = (
        retry_hint(1000)
        + frame("status", {"status": "pending"})
        + comment("heartbeat")
        + frame("token", {"text": "é"}, "1-0")
    )
    messages = list(parse(lines_of(raw)))
    assert messages == [
        Message(event="status", data={"status": "pending"}),
        Message(comment="heartbeat"),
        Message(event="token", data={"text": "é"}, id="1-0"),
    ]
