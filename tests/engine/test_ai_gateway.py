"""Pure: the request an AIGateway opcode describes, and what its answer memoizes (ai_gateway.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from learninngest.engine.wire import ai_gateway

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def opts(**extra: Any) -> dict[str, Any]:
    return {"url": "https://api.example/v1/chat/completions", "auth_key": "k", "body": BODY} | extra


@pytest.mark.parametrize(
    ("fmt", "header", "value"),
    [
        ("openai-chat", "Authorization", "Bearer k"),
        ("", "Authorization", "Bearer k"),
        ("anthropic", "X-Api-Key", "k"),
        ("bedrock", "Authorization", "k"),
    ],
)
def test_the_key_goes_where_the_format_wants_it(fmt: str, header: str, value: str) -> None:
    req = ai_gateway.build_request(opts(format=fmt))
    assert req.headers == [("Content-Type", "application/json"), (header, value), ("User-Agent", "Inngest")]
    assert json.loads(req.body) == BODY and req.url == opts()["url"]


def test_gemini_sends_the_key_as_a_query_parameter() -> None:
    req = ai_gateway.build_request(opts(format="gemini", url="https://g.example/v1/x?alt=json"))
    assert req.url == "https://g.example/v1/x?alt=json&key=k" and req.header("authorization") is None


def test_the_opcodes_headers_are_added_last_canonical_and_the_key_is_not_in_repr() -> None:
    # Go's Header.Add: a second Authorization goes beside the first, names are canonicalised.
    req = ai_gateway.build_request(opts(headers={"authorization": "Bearer other", "x-trace": "1"}))
    assert req.headers == [
        ("Content-Type", "application/json"),
        ("Authorization", "Bearer k"),
        ("Authorization", "Bearer other"),
        ("X-Trace", "1"),
        ("User-Agent", "Inngest"),
    ]
    assert req.header("x-trace") == "1"
    assert "other" not in repr(req)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("x-api-key", "X-Api-Key"),
        ("X-API-KEY", "X-Api-Key"),
        ("content-type", "Content-Type"),
        ("anthropic-version", "Anthropic-Version"),
        ("x_weird", "x_weird"),  # Go leaves a name with `_` as it is
        ("a b", "a b"),
    ],
)
def test_names_are_canonical_as_go_writes_them(name: str, canonical: str) -> None:
    assert ai_gateway.canonical_name(name) == canonical


@pytest.mark.parametrize(
    ("bad", "words"), [({"url": "ftp://x"}, "url"), ({"url": None}, "url"), ({"body": "text"}, "body")]
)
def test_bad_opts_say_what_is_missing(bad: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        ai_gateway.build_request(opts(**bad))


def test_answers_and_failures() -> None:
    assert ai_gateway.succeeded(200) and ai_gateway.succeeded(299)
    assert not ai_gateway.succeeded(300) and not ai_gateway.succeeded(None)
    assert ai_gateway.response_value(b'{"a": 1}') == {"a": 1}
    assert ai_gateway.response_value(b"plain") == "plain"
    err = ai_gateway.failure_error(503, b'{"error": "busy"}')
    assert err == {
        "name": "Error making AI request: unsuccessful status code: 503",
        "message": '{"error": "busy"}',
    }
    assert ai_gateway.failure_memo(b'{"error": "busy"}') == {"error": {"error": "busy"}}
    assert ai_gateway.failure_memo(b"") == {"error": {"error": "Error making AI request"}}
    assert ai_gateway.failure_error(None, b"", "ConnectError: refused")["name"].endswith(
        "ConnectError: refused"
    )
