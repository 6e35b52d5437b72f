"""POST /api/v1/chat: every bad input gets its status and its sentence."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "query: Field required"),
        ({"query": ""}, "query: String should have at least 1 character"),
        ({"query": "x" * 8001}, "query: String should have at most 8000 characters"),
        ({"query": "hi", "temperature": 2.5}, "temperature: Input should be less than or equal to 2"),
        ({"query": "hi", "temperature": -1}, "temperature: Input should be greater than or equal to 0"),
        ({"query": "hi", "max_tokens": 0}, "max_tokens: Input should be greater than or equal to 1"),
        ({"query": "hi", "max_tokens": 5000}, "max_tokens: Input should be less than or equal to 4096"),
        ({"query": "hi", "clean": "perhaps"}, "clean: Input should be a valid boolean"),
        ({"query": "hi", "model": "gpt-5"}, "unknown field 'model': remove it"),
        # Strict types: the schema is the contract, nothing is coerced.
        ({"query": "hi", "clean": 0}, "clean: Input should be a valid boolean"),
        ({"query": "hi", "clean": "yes"}, "clean: Input should be a valid boolean"),
        ({"query": "hi", "max_tokens": "200"}, "max_tokens: Input should be a valid integer"),
        ({"query": "hi", "temperature": "0.5"}, "temperature: Input should be a valid number"),
    ],
)
def test_bad_body_is_422_with_a_sentence(http: httpx.Client, body: dict, message: str) -> None:
    reply = http.post("/api/v1/chat", json=body)
    assert reply.status_code == 422
    messages = [item["msg"] for item in reply.json()["detail"]]
    assert any(m.startswith(message) for m in messages), messages


def test_body_that_is_not_json_is_422(http: httpx.Client) -> None:
    reply = http.post("/api/v1/chat", content=b"{not json", headers={"Content-Type": "application/json"})
    assert reply.status_code == 422


@pytest.mark.parametrize(
    "content",
    [
        b'{"query": "hi", "max_tokens": ' + b"1" * 5000 + b"}",  # past Python's int digits limit
        b'{"query": "\xff\xfe"}',  # not UTF-8
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the recursion limit
    ],
    ids=["huge-number", "invalid-utf8", "deep-nesting"],
)
def test_body_python_cannot_decode_is_422_with_a_sentence(http: httpx.Client, content: bytes) -> None:
    reply = http.post("/api/v1/chat", content=content, headers={"Content-Type": "application/json"})
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["msg"].startswith("The request body could not be read as JSON")


def test_inngest_down_is_503_and_nothing_is_left_pending(http: httpx.Client, dead_inngest_url: str) -> None:
    reply = http.post("/api/v1/chat", json={"query": "What is the capital of France?"})
    assert reply.status_code == 503
    problem = reply.json()
    assert problem["detail"].startswith(
        f"Could not send the event to the Inngest server at {dead_inngest_url}"
    )
    assert "INNGEST_BASE_URL" in problem["detail"]
    result = http.get(f"/api/v1/chat/result/{problem['request_id']}").json()
    assert result["status"] == "error"
    assert result["error"] == problem["detail"]
    assert "completed_at" in result


def test_a_failed_enqueue_does_not_hold_its_idempotency_key(http: httpx.Client) -> None:
    headers = {"Idempotency-Key": "retry-me"}
    first = http.post("/api/v1/chat", json={"query": "hello"}, headers=headers)
    second = http.post("/api/v1/chat", json={"query": "hello"}, headers=headers)
    assert (first.status_code, second.status_code) == (503, 503)
    # Nothing was enqueued the first time, so the retry really tried again (a new request).
    assert first.json()["request_id"] != second.json()["request_id"]


def test_idempotency_key_too_long_is_422(http: httpx.Client) -> None:
    reply = http.post("/api/v1/chat", json={"query": "hello"}, headers={"Idempotency-Key": "k" * 201})
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["header", "idempotency-key"]


def test_store_down_is_503_naming_the_setting(tmp_path, dead_inngest_url: str) -> None:  # noqa: ANN001
    from learninngest.app import create_app
    from learninngest.config import get_settings
    from learninngest.kit.servers import BackgroundServer

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store wants a folder")
    settings = get_settings(
        result_store_url=f"sqlite:///{blocker}/results.db", inngest_base_url=dead_inngest_url
    )
    with BackgroundServer(create_app(settings), name="backend") as server:
        reply = httpx.post(
            f"{server.url}/api/v1/chat", json={"query": "hello"}, headers={"Idempotency-Key": "k"}
        )
        ready = httpx.get(f"{server.url}/readyz").json()
    assert reply.status_code == 503
    assert reply.json()["detail"].startswith("The result store is unavailable (")
    assert reply.json()["detail"].endswith("Check RESULT_STORE_URL and that the store is up.")
    assert ready["checks"]["store"].startswith("not ready")
