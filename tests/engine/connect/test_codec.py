"""A worker's SDKResponse is read exactly as the same reply over HTTP."""

from __future__ import annotations

import json

from learninngest.engine.connect import codec
from learninngest.engine.connect.codec import SDKResponse
from learninngest.engine.wire import protocol

DONE, NOT_COMPLETED, ERROR = 1, 0, 2


def test_done_is_the_functions_result() -> None:
    outcome = codec.reply_outcome(SDKResponse(request_id="r", status=DONE, body=b'{"ok": 1}'))
    assert outcome == protocol.Completed({"ok": 1})


def test_not_completed_carries_the_opcodes_and_request_version() -> None:
    ops = [{"op": "StepRun", "id": "abc", "name": "one", "data": 1}]
    reply = SDKResponse(status=NOT_COMPLETED, body=json.dumps(ops).encode(), request_version=2)
    outcome = codec.reply_outcome(reply)
    assert isinstance(outcome, protocol.Ops) and outcome.request_version == 2
    assert [o.op for o in outcome.ops] == ["StepRun"]


def test_error_keeps_no_retry_and_retry_after() -> None:
    body = json.dumps({"name": "Boom", "message": "no"}).encode()
    failed = codec.reply_outcome(SDKResponse(status=ERROR, body=body, no_retry=True, retry_after="30"))
    http = protocol.parse_reply(500, {"x-inngest-no-retry": "true", "retry-after": "30"}, body)
    assert failed == http


def test_frames_round_trip() -> None:
    raw = codec.encode(codec.Kind.WORKER_REPLY_ACK, codec.WorkerReplyAckData(request_id="r1"))
    frame = codec.parse(codec.ConnectMessage, raw)
    assert codec.kind_name(frame.kind) == "WORKER_REPLY_ACK"
    assert codec.parse(codec.WorkerReplyAckData, frame.payload).request_id == "r1"


def test_garbage_is_a_bad_message() -> None:
    try:
        codec.parse(codec.ConnectMessage, b"\xff\xff\xff")
    except codec.BadMessage as exc:
        assert "ConnectMessage" in str(exc)
    else:
        raise AssertionError("garbage parsed")
