"""Pure: call bodies and reply decoding (protocol.py), against the fact sheet's examples."""

from __future__ import annotations

import json

import pytest

from learninngest.engine.clock import parse_iso
from learninngest.engine.wire import protocol


def test_step_id_hash_matches_the_sdk() -> None:
    assert protocol.hash_step_id("first") == "e0996a37c13d44c3b06074939d43fa3759bd32c1"
    assert protocol.hash_step_id("first:1") == "d9d1dc81ce73bf438df55e49455dcd449abef74e"
    assert protocol.hash_step_id("my-step-id") == "e7d8a2f140845095749d60246ff1110c9d01d76a"


def test_call_url_replaces_step_id_and_keeps_fn_id() -> None:
    url = "http://127.0.0.1:1/api/inngest?fnId=app-fn&stepId=step"
    assert protocol.call_url(url, "abc") == "http://127.0.0.1:1/api/inngest?fnId=app-fn&stepId=abc"
    assert protocol.call_url("http://h/api/inngest?fnId=x", "step").endswith("fnId=x&stepId=step")


def test_call_body_has_the_strict_shapes() -> None:
    body = protocol.build_call_body(
        event={"name": "a", "data": {}, "id": "1", "ts": 1},
        events=[{"name": "a", "data": {}, "id": "1", "ts": 1}],
        memo={"h": {"data": 1}},
        run_id="01R",
        attempt=2,
        max_attempts=5,
        stack=["h"],
    )
    assert body["use_api"] is False and isinstance(body["events"], list)
    ctx = body["ctx"]
    assert ctx["attempt"] == 2 and isinstance(ctx["attempt"], int)
    assert ctx["disable_immediate_execution"] is False
    assert ctx["stack"] == {"stack": ["h"], "current": 1}
    assert ctx["max_attempts"] == 5 and ctx["run_id"] == "01R"


def test_encode_is_jcs() -> None:
    assert protocol.encode({"b": 1, "a": [1.0, "é"]}) == '{"a":[1,"é"],"b":1}'.encode()


def test_200_is_completed_with_output() -> None:
    assert protocol.parse_reply(200, {}, b'{"x": 1}') == protocol.Completed({"x": 1})
    assert protocol.parse_reply(200, {}, b"null") == protocol.Completed(None)


def test_206_step_run() -> None:
    raw = [
        {
            "displayName": "first",
            "id": "e0996a",
            "name": "first",
            "op": "StepRun",
            "opts": None,
            "userland": {"id": "first", "index": None},
            "data": "A",
        }
    ]
    out = protocol.parse_reply(206, {}, json.dumps(raw).encode())
    assert isinstance(out, protocol.Ops)
    (op,) = out.ops
    assert (op.op, op.id, op.user_id, op.data) == ("StepRun", "e0996a", "first", "A")


def test_206_several_planned_steps() -> None:
    raw = [{"id": "h1", "name": "p1", "op": "StepPlanned"}, {"id": "h2", "name": "p2", "op": "StepPlanned"}]
    out = protocol.parse_reply(206, {}, json.dumps(raw).encode())
    assert isinstance(out, protocol.Ops) and [o.id for o in out.ops] == ["h1", "h2"]


def test_206_step_error_keeps_the_error() -> None:
    raw = [{"id": "h", "name": "s", "op": "StepError", "error": {"name": "ValueError", "message": "m"}}]
    out = protocol.parse_reply(206, {}, json.dumps(raw).encode())
    assert isinstance(out, protocol.Ops) and out.ops[0].error == {"name": "ValueError", "message": "m"}


def test_ai_gateway_is_an_op_with_its_opts() -> None:
    raw = [{"id": "h", "op": "AIGateway", "displayName": "ask", "opts": {"url": "http://m/v1", "body": {}}}]
    out = protocol.parse_reply(206, {}, json.dumps(raw).encode())
    assert isinstance(out, protocol.Ops) and out.ops[0].opts == {"url": "http://m/v1", "body": {}}


@pytest.mark.parametrize("op", ["Step", "Whatever"])
def test_unknown_opcodes_are_unsupported_with_a_reason(op: str) -> None:
    out = protocol.parse_reply(206, {}, json.dumps([{"id": "h", "op": op}]).encode())
    assert isinstance(out, protocol.Unsupported) and op in out.reason and "not supported" in out.reason


@pytest.mark.parametrize("body", [b"", b"{}", b"[]", b"not json", b'[{"op": "StepRun"}]'])
def test_bad_206_bodies_are_retriable_failures(body: bytes) -> None:
    out = protocol.parse_reply(206, {}, body)
    assert isinstance(out, protocol.CallFailed) and out.retriable


def test_a_streamed_reply_is_the_reply_it_wraps() -> None:
    wrapped = {
        "status": 206,
        "headers": {"X-Inngest-Req-Version": "2"},
        "body": '[{"op": "StepRun", "id": "h", "data": 1}]',
    }
    status, headers, body = protocol.unstream(
        {"content-type": "text/plain"}, b"   " + json.dumps(wrapped).encode()
    )
    assert (status, headers["x-inngest-req-version"], headers["content-type"]) == (206, "2", "text/plain")
    out = protocol.parse_reply(status, headers, body)
    assert isinstance(out, protocol.Ops) and out.ops[0].data == 1 and out.request_version == 2
    status, _, body = protocol.unstream({}, b' {"status": 200, "headers": {}, "body": "\\"Hi\\""}')
    assert protocol.parse_reply(status, {}, body) == protocol.Completed("Hi")


@pytest.mark.parametrize("body", [b"   ", b" [1]", b'{"error": "boom", "status": 500}', b'{"body": "1"}'])
def test_an_unreadable_stream_is_a_failed_call(body: bytes) -> None:
    with pytest.raises(ValueError):
        protocol.unstream({}, body)


def test_500_is_retriable_unless_no_retry() -> None:
    body = b'{"code": "unknown", "message": "boom", "name": "ValueError", "stack": "tb"}'
    out = protocol.parse_reply(500, {}, body)
    assert out == protocol.CallFailed(
        {"name": "ValueError", "message": "boom", "stack": "tb", "code": "unknown"},
        retriable=True,
        status=500,
    )
    out = protocol.parse_reply(500, {"X-Inngest-No-Retry": "true"}, body)
    assert isinstance(out, protocol.CallFailed) and not out.retriable


def test_500_keeps_retry_after() -> None:
    out = protocol.parse_reply(500, {"retry-after": "2026-11-24T00:36:38.354Z"}, b'{"message": "later"}')
    assert isinstance(out, protocol.CallFailed) and out.retry_after == "2026-11-24T00:36:38.354Z"


def test_500_with_a_non_json_body_still_names_the_problem() -> None:
    out = protocol.parse_reply(500, {}, b"Internal Server Error")
    assert isinstance(out, protocol.CallFailed) and "Internal Server Error" in out.error["message"]


def test_other_statuses_are_failures_naming_the_status() -> None:
    out = protocol.parse_reply(401, {}, b'{"message": "Unauthorized"}')
    assert isinstance(out, protocol.CallFailed) and "401" in out.error["message"]


def test_normalize_error_fills_name_and_message() -> None:
    assert protocol.normalize_error({"message": "x"}, "f") == {"name": "Error", "message": "x"}
    assert protocol.normalize_error(None, "fallback") == {"name": "Error", "message": "fallback"}
    assert protocol.normalize_error("text", "f") == {"name": "Error", "message": "text"}


def test_call_body_with_use_api_leaves_events_and_steps_to_the_api() -> None:
    body = protocol.build_call_body(
        event={"name": "a", "data": {}, "id": "1", "ts": 1},
        events=[{"name": "a", "data": {}, "id": "1", "ts": 1}],
        memo={"h": {"data": "big"}},
        run_id="01R",
        attempt=0,
        max_attempts=5,
        stack=["h"],
        version=2,
        use_api=True,
    )
    assert body["use_api"] is True and body["ctx"]["use_api"] is True
    assert body["events"] == [] and body["steps"] == {} and body["event"]["name"] == "a"
    assert body["version"] == 2 and "fn_id" not in body["ctx"]  # none given: none sent


def test_the_call_names_its_function_and_queue_item_as_the_real_executor() -> None:
    body = protocol.build_call_body(
        event={"name": "a", "data": {}},
        events=[{"name": "a", "data": {}}],
        memo={},
        run_id="01R",
        attempt=0,
        max_attempts=5,
        stack=[],
        fn_id="6f1c6a52-7f0e-4a57-9d1b-2a1f3c9e0b11",
        qi_id="01R",
    )
    # With ctx.fn_id the TypeScript SDK 4.x checkpoints the steps it runs (run/checkpoint.py).
    assert body["ctx"]["fn_id"] == "6f1c6a52-7f0e-4a57-9d1b-2a1f3c9e0b11"
    assert body["ctx"]["qi_id"] == "01R"
    # Every call lists the run's defers (none here), as the real server's request does.
    assert body["defers"] == {} and "generation_id" not in body["ctx"]


def test_the_call_carries_its_generation_and_the_runs_defers() -> None:
    defers = {"h": {"abortable": True}}
    body = protocol.build_call_body(
        event={},
        events=[],
        memo={},
        run_id="r",
        attempt=0,
        max_attempts=1,
        stack=[],
        defers=defers,
        generation=7,
    )
    assert body["ctx"]["generation_id"] == 7 and body["defers"] == defers


def test_a_durable_endpoints_run_complete_comes_as_one_object() -> None:
    reply = protocol.parse_reply(206, {}, b'{"id": "h", "op": "RunComplete", "data": {"status": 200}}')
    assert isinstance(reply, protocol.Ops)
    assert [(o.op, o.data) for o in reply.ops] == [("RunComplete", {"status": 200})]


def test_a_new_run_is_called_with_version_minus_one() -> None:
    body = protocol.build_call_body(
        event={}, events=[], memo={}, run_id="r", attempt=0, max_attempts=1, stack=[]
    )
    assert body["version"] == -1


@pytest.mark.parametrize(
    ("name", "opts", "after"),
    [
        ("2026-11-24T00:36:07.379Z", None, None),  # the Python SDK: a wake-up time
        ("10s", None, 10.0),  # the TypeScript SDK: a duration in `name`
        ("1h30m", None, 5400.0),
        ("nap", {"duration": "2m"}, 120.0),  # `opts.duration` first, like the real server
        ("", None, 0.0),
    ],
)
def test_sleep_until_reads_times_and_durations(
    name: str, opts: dict[str, str] | None, after: float | None
) -> None:
    now = 1_800_000_000.0
    wake = protocol.sleep_until(protocol.Opcode(op="Sleep", id="h", name=name, opts=opts), now)
    if after is None:
        assert wake == parse_iso(name)
    else:
        assert wake == now + after


def test_sleep_until_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        protocol.sleep_until(protocol.Opcode(op="Sleep", id="h", name="soon"), 0.0)


def test_206_carries_no_retry_retry_after_and_the_request_version() -> None:
    raw = json.dumps([{"id": "h", "op": "StepError", "error": {"name": "E", "message": "m"}}]).encode()
    headers = {"X-Inngest-No-Retry": "true", "Retry-After": "30", "x-inngest-req-version": "2"}
    out = protocol.parse_reply(206, headers, raw)
    assert isinstance(out, protocol.Ops)
    assert (out.no_retry, out.retry_after, out.request_version) == (True, "30", 2)
    plain = protocol.parse_reply(206, {"x-inngest-no-retry": "false"}, raw)
    assert isinstance(plain, protocol.Ops) and not plain.no_retry and plain.request_version == 0


def test_a_400_json_error_body_is_kept_as_sent() -> None:
    body = {"name": "NonRetriableError", "message": "bad", "stack": None, "__serialized": True}
    out = protocol.parse_reply(400, {"x-inngest-no-retry": "true"}, json.dumps(body).encode())
    assert out == protocol.CallFailed(body, retriable=False, status=400)


def test_a_500_keeps_stack_null() -> None:
    body = {"code": "step_errored", "message": "m", "name": "E", "stack": None}
    out = protocol.parse_reply(500, {}, json.dumps(body).encode())
    assert isinstance(out, protocol.CallFailed) and out.error == body
