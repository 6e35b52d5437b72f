"""chat_worker under the SDK's own mocked harness (`inngest.experimental.mocked`).

The LLM is the offline model over real HTTP; the Inngest server is simulated by the
SDK, so these tests pin down the function's semantics. The same function runs through
the real engine in tests/e2e.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator

import inngest
import pytest
from inngest.experimental import mocked

from learninngest.config import Settings, get_settings
from learninngest.events import CHAT_REQUESTED, ChatRequested, chat_event
from learninngest.kit.servers import BackgroundServer
from learninngest.llm.complete import LLMError
from learninngest.store import open_store
from learninngest.store.base import ChatRecord, ResultStore
from learninngest.worker.chat_worker import build_chat_worker, failure_message, to_inngest_error


@pytest.fixture
def settings(offline_model: BackgroundServer) -> Settings:
    return get_settings(offline_model_url=f"{offline_model.url}/v1", worker_retries=3)


@pytest.fixture(autouse=True)
def event_loop_for_mocked() -> Iterator[asyncio.AbstractEventLoop]:
    """The mocked harness runs the function on the thread's current loop: give it one, and close it."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


def _run(coro):  # noqa: ANN001, ANN202
    return asyncio.get_event_loop().run_until_complete(coro)


def _trigger(settings: Settings, store: ResultStore, query: str, request_id: str) -> mocked.trigger:
    client = mocked.Inngest(app_id="test")
    fn = build_chat_worker(client, settings, store)
    _run(store.create(ChatRecord(request_id=request_id, query=query)))
    event = inngest.Event(**chat_event(ChatRequested(request_id=request_id, query=query)))
    return mocked.trigger(fn, event, client)


def test_success_saves_the_answer(settings: Settings) -> None:
    store = open_store("memory://")
    result = _trigger(settings, store, "What is the capital of France?", "req-ok")
    assert result.status is mocked.Status.COMPLETED
    record = _run(store.get("req-ok"))
    # The run's output carries the result too: the reconciler can record it from the REST API.
    assert result.output == {
        "request_id": "req-ok",
        "content": record.content,
        "model": record.model,
        "usage": record.usage,
        "attempts": 1,
    }
    assert record.status.value == "done"
    assert "Paris" in record.content
    assert record.attempts == 1
    assert record.usage["total_tokens"] > 0


def test_rate_limited_twice_then_done_after_three_attempts(settings: Settings) -> None:
    store = open_store("memory://")
    result = _trigger(settings, store, "[fault:429x2] What is the capital of France?", "req-429")
    assert result.status is mocked.Status.COMPLETED
    assert result.output["attempts"] == 3
    assert _run(store.get("req-429")).attempts == 3


def test_bad_request_fails_with_a_non_retriable_error(settings: Settings) -> None:
    # The mocked harness retries even a NonRetriableError, so the fault is on every call (x*).
    # Through a real Inngest server it stops after one attempt: tests/e2e.

    store = open_store("memory://")
    result = _trigger(settings, store, "[fault:400x*] hello", "req-400")
    assert result.status is mocked.Status.FAILED
    assert isinstance(result.error, inngest.NonRetriableError)
    assert "400" in str(result.error)


def test_trigger_is_the_chat_event() -> None:
    client = mocked.Inngest(app_id="test")
    fn = build_chat_worker(client, get_settings(), open_store("memory://"))
    config = fn.get_config("http://127.0.0.1:1/api/inngest")
    assert config.main.triggers[0].event == CHAT_REQUESTED
    assert config.main.steps["step"].retries.attempts == 3
    assert config.main.concurrency[0].limit == 4
    assert config.on_failure is not None


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (LLMError("provider answered 400: bad", retriable=False, status=400), inngest.NonRetriableError),
        (LLMError("rate limited", retriable=True, retry_after_s=2.0, status=429), inngest.RetryAfterError),
        (LLMError("server error", retriable=True, status=500), RuntimeError),
    ],
)
def test_llm_errors_become_the_right_inngest_error(error: LLMError, kind: type) -> None:
    translated = to_inngest_error(error)
    assert type(translated) is kind
    assert str(translated) == error.message


def test_retry_after_is_kept() -> None:
    before = datetime.datetime.now()
    translated = to_inngest_error(LLMError("slow down", retriable=True, retry_after_s=30))
    assert isinstance(translated, inngest.RetryAfterError)
    assert translated.retry_after - before >= datetime.timedelta(seconds=29)


def test_failure_message_prefers_the_message() -> None:
    assert failure_message({"name": "NonRetriableError", "message": "provider answered 400: x"}) == (
        "provider answered 400: x"
    )
    assert failure_message({}) == "the run failed"
    # The failure event's `error` as the Dev Server (and the engine) send it: its own `error`
    # text next to the SDK's name and message; the message is what the user should read.
    dev_server_shape = {
        "error": "NonRetriableError",
        "name": "NonRetriableError",
        "message": "provider answered 400: x",
        "stack": "Traceback …",
    }
    assert failure_message(dev_server_shape) == "provider answered 400: x"
