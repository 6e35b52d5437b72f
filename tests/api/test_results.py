"""GET /api/v1/chat/result/{id}: 404 with a sentence, ?wait bounds, long-poll wakes on finish."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from learninngest.kit.servers import BackgroundServer
from learninngest.store.base import ChatRecord, Status


def test_unknown_id_is_404_with_a_sentence(http: httpx.Client) -> None:
    reply = http.get("/api/v1/chat/result/nope")
    assert reply.status_code == 404
    assert reply.json()["detail"] == (
        "No chat request with id 'nope'. Use the request_id returned by POST /api/v1/chat."
    )


@pytest.mark.parametrize("wait", ["-1", "31", "soon"])
def test_wait_out_of_range_is_422(http: httpx.Client, wait: str) -> None:
    reply = http.get("/api/v1/chat/result/x", params={"wait": wait})
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["query", "wait"]


def _run(backend: BackgroundServer, coro_fn) -> object:  # noqa: ANN001
    """Run a coroutine against the backend's store from the test thread."""
    return asyncio.run(coro_fn(backend.app.state.store))


def test_long_poll_answers_pending_after_wait(http: httpx.Client, backend: BackgroundServer) -> None:
    _run(backend, lambda store: store.create(ChatRecord(request_id="r1", query="q")))
    started = time.monotonic()
    body = http.get("/api/v1/chat/result/r1", params={"wait": 0.5}).json()
    assert body["status"] == "pending"
    assert time.monotonic() - started >= 0.45


def test_long_poll_answers_as_soon_as_the_result_is_final(
    http: httpx.Client, backend: BackgroundServer
) -> None:
    _run(backend, lambda store: store.create(ChatRecord(request_id="r2", query="q")))

    def finish_soon() -> None:
        time.sleep(0.3)
        _run(backend, lambda store: store.finish("r2", status=Status.done, content="Paris", attempts=1))
        backend.app.state.waiters.notify("r2")

    threading.Thread(target=finish_soon).start()
    started = time.monotonic()
    body = http.get("/api/v1/chat/result/r2", params={"wait": 25}).json()
    assert body["status"] == "done"
    assert body["content"] == "Paris"
    assert time.monotonic() - started < 20  # woken, not timed out (room for a loaded machine)


def test_long_poll_sees_a_result_written_by_another_process(
    http: httpx.Client, backend: BackgroundServer
) -> None:
    # No notify(): as when another worker process wrote the shared store.
    _run(backend, lambda store: store.create(ChatRecord(request_id="r3", query="q")))
    threading.Timer(
        0.3, lambda: _run(backend, lambda store: store.finish("r3", status=Status.error, error="boom"))
    ).start()
    body = http.get("/api/v1/chat/result/r3", params={"wait": 10}).json()
    assert (body["status"], body["error"]) == ("error", "boom")
