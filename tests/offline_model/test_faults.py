"""Faults on demand and the OpenAI wire format, over real HTTP (BackgroundServer + httpx)."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest

from learninngest.config import OFFLINE_MODEL_NAME
from tests.offline_model.conftest import Serve
from tests.support import wait_for

FRANCE = "What is the capital of France?"


def chat(
    http: httpx.Client, base_url: str, content: object, *, timeout: float = 5.0, **fields: Any
) -> httpx.Response:
    body = {"model": OFFLINE_MODEL_NAME, "messages": [{"role": "user", "content": content}], **fields}
    return http.post(f"{base_url}/v1/chat/completions", json=body, timeout=timeout)


def assert_openai_error(response: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == type_
    return error


# --- the wire format


def test_chat_completion_has_the_openai_shape(http: httpx.Client, base_url: str) -> None:
    response = chat(http, base_url, FRANCE, user="req-1")
    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int)
    assert body["model"] == OFFLINE_MODEL_NAME
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert "Paris" in choice["message"]["content"]
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0


def test_unknown_model_is_echoed_and_missing_model_defaults(http: httpx.Client, base_url: str) -> None:
    assert chat(http, base_url, FRANCE, model="gpt-4o-mini").json()["model"] == "gpt-4o-mini"
    body = {"messages": [{"role": "user", "content": FRANCE}]}
    response = http.post(f"{base_url}/v1/chat/completions", json=body)
    assert response.json()["model"] == OFFLINE_MODEL_NAME


def test_models_list(http: httpx.Client, base_url: str) -> None:
    body = http.get(f"{base_url}/v1/models").json()
    assert body["object"] == "list"
    assert [model["id"] for model in body["data"]] == [OFFLINE_MODEL_NAME]
    assert http.get(f"{base_url}/v1/models/some/model").json()["id"] == "some/model"


def test_max_completion_tokens_truncates(http: httpx.Client, base_url: str) -> None:
    body = chat(http, base_url, FRANCE, max_completion_tokens=3).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3


def test_same_request_same_answer_and_content_parts(http: httpx.Client, base_url: str) -> None:
    first = chat(http, base_url, "How do I bake bread?", seed=4).json()
    parts = [{"type": "text", "text": "How do I bake bread?"}]
    second = chat(http, base_url, parts, seed=4).json()
    assert first["choices"][0]["message"]["content"] == second["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
        ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}, "max_tokens"),
    ],
)
def test_bad_bodies_get_openai_style_400(
    http: httpx.Client, base_url: str, body: dict[str, Any], param: str
) -> None:
    response = http.post(f"{base_url}/v1/chat/completions", json=body)
    error = assert_openai_error(response, 400, "invalid_request_error")
    assert error["param"] == param


def test_invalid_json_and_unknown_path(http: httpx.Client, base_url: str) -> None:
    response = http.post(f"{base_url}/v1/chat/completions", content=b"{not json")
    assert_openai_error(response, 400, "invalid_request_error")
    error = assert_openai_error(http.get(f"{base_url}/v2/nothing"), 404, "invalid_request_error")
    assert error["code"] == "not_found"


def test_429x2_then_success_with_retry_after(http: httpx.Client, base_url: str) -> None:
    content = f"[fault:429x2] {FRANCE}"
    for _ in range(2):
        response = chat(http, base_url, content, user="req-429")
        error = assert_openai_error(response, 429, "rate_limit_error")
        assert error["code"] == "rate_limit_exceeded"
        assert response.headers["Retry-After"] == "1"
        assert response.headers["retry-after-ms"] == "1000"
    response = chat(http, base_url, content, user="req-429")
    assert response.status_code == 200
    content_out = response.json()["choices"][0]["message"]["content"]
    assert "Paris" in content_out and "fault" not in content_out


def test_retry_after_is_overridable(http: httpx.Client, base_url: str) -> None:
    response = chat(http, base_url, "[fault:429,retry_after=3] hi", user="req-ra")
    assert response.headers["Retry-After"] == "3"


def test_calls_are_counted_per_user_else_per_messages(http: httpx.Client, base_url: str) -> None:
    content = f"[fault:500x1] {FRANCE}"
    assert chat(http, base_url, content, user="a").status_code == 500
    assert chat(http, base_url, content, user="b").status_code == 500
    assert chat(http, base_url, content, user="a").status_code == 200
    # No user field: the messages' hash is the key.
    assert chat(http, base_url, content).status_code == 500
    assert chat(http, base_url, content).status_code == 200


def test_500x1_then_success(http: httpx.Client, base_url: str) -> None:
    response = chat(http, base_url, f"[fault:500x1] {FRANCE}", user="req-500")
    assert_openai_error(response, 500, "server_error")
    assert "Retry-After" not in response.headers
    assert chat(http, base_url, f"[fault:500x1] {FRANCE}", user="req-500").status_code == 200


@pytest.mark.parametrize(("kind", "status"), [("400", 400), ("401", 401), ("502", 502), ("503", 503)])
def test_other_error_kinds(http: httpx.Client, base_url: str, kind: str, status: int) -> None:
    response = chat(http, base_url, f"[fault:{kind}] {FRANCE}", user=f"req-{kind}")
    assert response.status_code == status
    assert "simulated by the offline model" in response.json()["error"]["message"]


def test_bad_directive_is_a_400_that_explains_the_grammar(http: httpx.Client, base_url: str) -> None:
    error = assert_openai_error(chat(http, base_url, "[fault:418] hi"), 400, "invalid_request_error")
    assert error["code"] == "invalid_fault_directive"
    assert "[fault:<kind>" in error["message"]


def test_timeout_hangs_for_timeout_s_then_504(http: httpx.Client, serve: Serve) -> None:
    base_url = serve(timeout_s=0.3)
    started = time.monotonic()
    response = chat(http, base_url, f"[fault:timeout] {FRANCE}", user="req-t")
    assert time.monotonic() - started >= 0.3
    assert_openai_error(response, 504, "server_error")
    assert chat(http, base_url, f"[fault:timeout] {FRANCE}", user="req-t").status_code == 200


def test_timeout_outlasts_the_client_and_ends_when_it_leaves(http: httpx.Client, serve: Serve) -> None:
    base_url = serve(timeout_s=30)
    with pytest.raises(httpx.ReadTimeout):
        chat(http, base_url, f"[fault:timeout] {FRANCE}", user="req-hang", timeout=0.3)
    assert chat(http, base_url, f"[fault:timeout] {FRANCE}", user="req-hang").status_code == 200
    # The fixture's stop() then returns quickly: the hung handler noticed the client left.


def test_slow_delays_the_first_answer_only(
    http: httpx.Client, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A lower bound holds on any machine; that the second answer was not delayed is read from
    # the model's log (no real-time upper bound a busy machine could miss).
    caplog.set_level(logging.INFO, logger="learninngest.offline_model")
    started = time.monotonic()
    assert chat(http, base_url, f"[fault:slow=1000] {FRANCE}", user="req-s", timeout=60).status_code == 200
    assert time.monotonic() - started >= 1
    assert chat(http, base_url, f"[fault:slow=1000] {FRANCE}", user="req-s", timeout=60).status_code == 200
    faults = [r.getMessage() for r in caplog.records if r.getMessage().startswith("fault injected")]
    assert faults == ["fault injected: kind=slow source=directive key=user:req-s call=1 slow_ms=1000"]


def test_slow_with_a_huge_number_is_a_400_not_a_crash(http: httpx.Client, base_url: str) -> None:
    response = chat(http, base_url, f"[fault:slow={'9' * 5000}] {FRANCE}", user="req-huge")
    error = assert_openai_error(response, 400, "invalid_request_error")
    assert error["code"] == "invalid_fault_directive"
    assert "slow must be 0..3600000 milliseconds" in error["message"]


def test_slow_past_the_timeout_acts_as_the_timeout(http: httpx.Client, serve: Serve) -> None:
    base_url = serve(timeout_s=0.3)
    # 1 h asked, but the model's timeout is 0.3 s: a 504 after the timeout, not an hour's wait.
    response = chat(http, base_url, f"[fault:slow=3600000] {FRANCE}", user="req-cap", timeout=30)
    error = assert_openai_error(response, 504, "server_error")
    assert error["code"] == "timeout"


def test_slow_stops_waiting_when_the_client_leaves(
    http: httpx.Client, serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="learninngest.offline_model")
    base_url = serve(timeout_s=60)
    with pytest.raises(httpx.ReadTimeout):
        chat(http, base_url, f"[fault:slow=50000] {FRANCE}", user="req-left", timeout=0.3)

    def noticed() -> None:
        lines = [r.getMessage() for r in caplog.records if r.name == "learninngest.offline_model"]
        assert "client left during fault slow: stopped waiting, key=user:req-left" in lines

    wait_for(noticed, timeout=20)


def test_each_app_has_its_own_counters(http: httpx.Client, serve: Serve) -> None:
    first, second = serve(), serve()
    for url in (first, second):
        assert chat(http, url, f"[fault:429] {FRANCE}", user="same").status_code == 429


def test_one_log_line_per_fault(http: httpx.Client, base_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="learninngest.offline_model")
    for _ in range(3):
        chat(http, base_url, f"[fault:429x2] {FRANCE}", user="req-log")
    lines = [r.getMessage() for r in caplog.records if r.name == "learninngest.offline_model"]
    assert lines == [
        "fault injected: kind=429 source=directive key=user:req-log call=1",
        "fault injected: kind=429 source=directive key=user:req-log call=2",
    ]


# --- faults from settings rates, and latency


def statuses(http: httpx.Client, base_url: str, count: int = 30) -> list[int]:
    return [chat(http, base_url, FRANCE, user=f"req-{n}").status_code for n in range(count)]


def test_rates_are_seeded_and_deterministic(http: httpx.Client, serve: Serve) -> None:
    rates = {"fault_rate_429": 0.3, "fault_rate_500": 0.2}
    first = statuses(http, serve(seed=7, **rates))
    assert first == statuses(http, serve(seed=7, **rates))
    assert {200, 429, 500} <= set(first)
    assert first != statuses(http, serve(seed=8, **rates))


def test_rate_faults_carry_retry_after_and_retries_redraw(http: httpx.Client, serve: Serve) -> None:
    base_url = serve(fault_rate_429=1.0, retry_after_s=2)
    response = chat(http, base_url, FRANCE, user="r")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    half = serve(seed=1, fault_rate_500=0.5)
    codes = [chat(http, half, FRANCE, user="same").status_code for _ in range(12)]
    assert 200 in codes and 500 in codes  # each retry is a new draw, so a retry can succeed


def test_latency_from_settings(http: httpx.Client, serve: Serve) -> None:
    base_url = serve(latency_mean_ms=200)
    started = time.monotonic()
    assert chat(http, base_url, FRANCE).status_code == 200
    assert time.monotonic() - started >= 0.2
