"""`stream: true`: OpenAI's chunk events over SSE, latency spread over the tokens, faults mid-stream.

The pure parts (pieces, token_delays) are tested directly; the stream itself over real
HTTP, read line by line as a client reads it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from learninngest.config import OFFLINE_MODEL_NAME
from learninngest.offline_model.streaming import FIRST_TOKEN_SHARE, pieces, token_delays
from tests.offline_model.conftest import Serve

FRANCE = "What is the capital of France?"


def stream(
    http: httpx.Client, base_url: str, content: str, *, user: str, **fields: Any
) -> tuple[httpx.Response, list[Any]]:
    """The response and its `data:` payloads in order (dicts, or the string "[DONE]")."""
    body = {
        "model": OFFLINE_MODEL_NAME,
        "messages": [{"role": "user", "content": content}],
        "user": user,
        "stream": True,
        **fields,
    }
    with http.stream("POST", f"{base_url}/v1/chat/completions", json=body, timeout=10) as response:
        payloads: list[Any] = []
        for line in response.iter_lines():
            if line.startswith("data: "):
                data = line.removeprefix("data: ")
                payloads.append(data if data == "[DONE]" else json.loads(data))
    return response, payloads


def text_of(payloads: list[Any]) -> str:
    return "".join(
        choice["delta"].get("content") or ""
        for chunk in payloads
        if isinstance(chunk, dict)
        for choice in chunk.get("choices", [])
    )


@pytest.mark.parametrize(
    "text",
    ["", "Paris.", "## Title\n\nThe **capital** is Paris.\n", "  leading and trailing  \n", "a\n\n- b\n"],
)
def test_pieces_join_back_into_the_text(text: str) -> None:
    assert "".join(pieces(text)) == text


def test_pieces_are_token_sized() -> None:
    assert pieces("The capital is Paris.") == ["The", " capital", " is", " Paris", "."]


def test_token_delays_spread_the_latency() -> None:
    delays = token_delays(5, 1000)
    assert sum(delays) == pytest.approx(1.0)
    assert delays[0] == pytest.approx(FIRST_TOKEN_SHARE)
    assert len(set(delays[1:])) == 1
    assert token_delays(3, 0) == [0.0, 0.0, 0.0]
    assert token_delays(1, 500) == [0.5]
    assert token_delays(0, 500) == []


def test_a_stream_has_openais_chunk_shape_and_ends_with_done(http: httpx.Client, base_url: str) -> None:
    response, payloads = stream(http, base_url, FRANCE, user="s-shape")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert payloads[-1] == "[DONE]"
    chunks = payloads[:-1]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    for chunk in chunks:
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == OFFLINE_MODEL_NAME
        assert chunk["id"] == chunks[0]["id"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "usage" not in chunks[-1]  # not asked for


def test_streamed_text_and_usage_equal_the_unstreamed_answer(http: httpx.Client, base_url: str) -> None:
    whole = http.post(
        f"{base_url}/v1/chat/completions",
        json={"messages": [{"role": "user", "content": FRANCE}], "user": "s-same-a"},
    ).json()
    _, payloads = stream(http, base_url, FRANCE, user="s-same-b", stream_options={"include_usage": True})

    assert text_of(payloads) == whole["choices"][0]["message"]["content"]
    content_chunks = [c for c in payloads[:-1] if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(content_chunks) == whole["usage"]["completion_tokens"]  # one chunk per token
    last = payloads[-2]
    assert last["choices"] == [] and last["usage"] == whole["usage"]
    assert all(chunk["usage"] is None for chunk in payloads[:-2])


def test_a_fault_after_n_tokens_strikes_mid_stream(http: httpx.Client, base_url: str) -> None:
    response, payloads = stream(http, base_url, f"{FRANCE} [fault:500,after=3]", user="s-mid")

    assert response.status_code == 200  # the stream had started: the error comes inside it
    contents = [c for c in payloads if "choices" in c and c["choices"][0]["delta"].get("content")]
    assert len(contents) == 3
    assert payloads[-1]["error"]["type"] == "server_error"
    assert "fault 500, call 1" in payloads[-1]["error"]["message"]
    assert "[DONE]" not in payloads
    # The next call of the same request is not faulted: the whole answer streams.
    _, again = stream(http, base_url, f"{FRANCE} [fault:500,after=3]", user="s-mid")
    assert again[-1] == "[DONE]" and "Paris" in text_of(again)


def test_a_fault_after_more_tokens_than_the_answer_has_strikes_at_its_end(
    http: httpx.Client, base_url: str
) -> None:
    _, payloads = stream(http, base_url, f"{FRANCE} [fault:503,after=100000]", user="s-end")
    assert "Paris" in text_of(payloads)
    assert payloads[-1]["error"]["code"] == "service_unavailable"


def test_slow_mid_stream_pauses_and_goes_on(http: httpx.Client, base_url: str) -> None:
    _, payloads = stream(http, base_url, f"{FRANCE} [fault:slow=200,after=2]", user="s-slow")
    assert payloads[-1] == "[DONE]" and "Paris" in text_of(payloads)


def test_a_mid_stream_fault_fails_an_unstreamed_call_as_a_whole(http: httpx.Client, base_url: str) -> None:
    response = http.post(
        f"{base_url}/v1/chat/completions",
        json={"messages": [{"role": "user", "content": f"{FRANCE} [fault:429,after=5]"}], "user": "s-whole"},
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"


def test_a_fault_without_after_fails_a_stream_before_it_starts(http: httpx.Client, base_url: str) -> None:
    response, _ = stream(http, base_url, f"{FRANCE} [fault:429]", user="s-before")
    assert response.status_code == 429


def test_the_latency_is_spread_over_the_tokens(http: httpx.Client, serve: Serve) -> None:
    url = serve(latency_mean_ms=600)
    arrivals: list[float] = []
    body = {"messages": [{"role": "user", "content": FRANCE}], "user": "s-spread", "stream": True}
    with http.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=10) as response:
        for line in response.iter_lines():
            if '"content":"' in line and '"content":""' not in line:
                arrivals.append(time.monotonic())
    # Tokens come over a span of time, not in one burst (the sleeps make 0.42 s the least).
    assert len(arrivals) > 5
    assert arrivals[-1] - arrivals[0] > 0.1


def test_a_timeout_mid_stream_stalls_then_sends_the_error(http: httpx.Client, serve: Serve) -> None:
    url = serve(timeout_s=0.3)  # a short hang, so the test does not wait for a real timeout
    _, payloads = stream(http, url, f"{FRANCE} [fault:timeout,after=2]", user="s-hang")
    contents = [c for c in payloads if "choices" in c and c["choices"][0]["delta"].get("content")]
    assert len(contents) == 2
    assert payloads[-1]["error"]["code"] == "timeout"
