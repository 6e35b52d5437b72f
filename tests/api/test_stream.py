"""GET /api/v1/chat/{id}/stream through every real server: tokens, retries, resume, replay, errors.

The offline model spreads its latency over the tokens, so a stream has time to show
them; the assertions are about order and content, never about timing. A stream opened
after the answer's end shows only its result, so each test holds the model's tokens
(`ModelGate`) until its stream has attached: the order is an outcome the test waits for,
not a race with the model's pace on a busy machine.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from learninngest.kit import cells
from learninngest.kit.stack import Stack
from learninngest.offline_model import streaming
from learninngest.stream.sse import Message, parse
from tests.e2e.conftest import make_stack

FRANCE = "What is the capital of France?"
GATE_LIMIT_S = 60.0
"""A gate nobody opens lets the model go on after this, so a broken test fails, not hangs."""


class ModelGate:
    """Holds the offline model's streamed tokens (it waits before each one, the wait its
    latency spreads over them) until the test lets them through: `release(n)` lets n more
    pass, `release()` all of them. The stack runs in this process, so the gate is shared."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._left: float = 0  # tokens that may still pass
        self._real_sleep = asyncio.sleep

    def release(self, count: float = float("inf")) -> None:
        with self._lock:
            self._left = count

    def _pass(self) -> bool:
        with self._lock:
            if self._left > 0:
                self._left -= 1
                return True
            return False

    async def sleep(self, delay: float) -> None:
        held_until = time.monotonic() + GATE_LIMIT_S
        while not self._pass() and time.monotonic() < held_until:
            await self._real_sleep(0.01)
        await self._real_sleep(delay)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> ModelGate:
    held = ModelGate()
    # Only the streaming module's pace between tokens: the rest of the stack keeps asyncio.
    monkeypatch.setattr(streaming, "asyncio", SimpleNamespace(sleep=held.sleep))
    return held


def slow_stack(tmp_path: Path, **overrides: object) -> Stack:
    # 1.5 s per answer spread over its tokens: every token waits a little, so each one passes
    # the gate; quick heartbeats.
    settings = {"offline_latency_mean_ms": 1500, "offline_latency_spread_ms": 0, "stream_heartbeat_s": 0.2}
    return make_stack(tmp_path, **{**settings, **overrides}).up()


@pytest.fixture
def stack(tmp_path: Path, gate: ModelGate) -> Iterator[Stack]:
    running = slow_stack(tmp_path)
    yield running
    gate.release()  # a held answer must not keep the servers from stopping
    running.down()


def ask(stack: Stack, query: str, **options: object) -> str:
    return cells.send(query, stack=stack, clean=False, **options)["request_id"]


def events(stack: Stack, request_id: str, **kwargs: object) -> list[Message]:
    return list(cells.stream_events(request_id, stack=stack, **kwargs))  # type: ignore[arg-type]


def attached(stack: Stack, request_id: str, gate: ModelGate, **kwargs: object) -> Iterator[Message]:
    """The stream's events; the model's tokens flow once the stream has said the request's
    status (it has read the record, not final yet, and follows the channel)."""
    for message in cells.stream_events(request_id, stack=stack, **kwargs):  # type: ignore[arg-type]
        if message.event == "status":
            gate.release()
        yield message


def stored(stack: Stack, request_id: str) -> dict:
    return httpx.get(f"{stack.backend_url}/api/v1/chat/result/{request_id}").json()


def tokens(messages: list[Message], attempt: int | None = None) -> str:
    return "".join(
        m.data["text"]
        for m in messages
        if m.event == "token" and m.data and (attempt is None or m.data["attempt"] == attempt)
    )


def test_tokens_arrive_then_done_equals_the_stored_result(stack: Stack, gate: ModelGate) -> None:
    request_id = ask(stack, FRANCE)
    messages = list(attached(stack, request_id, gate))

    kinds = [m.event for m in messages]
    assert kinds[0] == "status"
    assert {"status": "running", "attempt": 1} in [m.data for m in messages if m.event == "status"]
    assert kinds.count("token") > 5
    assert kinds[-1] == "done" and kinds.index("token") < kinds.index("done")
    done = messages[-1].data
    assert done is not None
    result = stored(stack, request_id)
    assert done["content"] == result["content"] == tokens(messages)
    assert done["usage"] == result["usage"] and done["model"] == result["model"]
    assert all(m.id for m in messages if m.event in {"token", "retry"})


def test_a_failure_mid_stream_sends_retry_and_the_new_attempt(stack: Stack, gate: ModelGate) -> None:
    request_id = ask(stack, f"{FRANCE} [fault:500,after=3]")
    messages = list(attached(stack, request_id, gate))

    kinds = [m.event for m in messages]
    assert "retry" in kinds
    retry_at = kinds.index("retry")
    assert messages[retry_at].data == {"attempt": 2}
    assert messages[-1].event == "done"
    assert messages[-1].data["attempts"] == 2  # type: ignore[index]
    assert tokens(messages, attempt=2) == messages[-1].data["content"] == stored(stack, request_id)["content"]  # type: ignore[index]
    # The partial text to drop: the answer's first three tokens (the fault came after them),
    # in one or more events (tokens after an attempt's first are batched, STREAM_FLUSH_MS).
    partial = tokens(messages[:retry_at])
    assert partial and messages[-1].data["content"].startswith(partial)  # type: ignore[index]
    assert len(partial) < len(messages[-1].data["content"])  # type: ignore[index]


def test_last_event_id_resumes_without_repeating_or_losing(stack: Stack, gate: ModelGate) -> None:
    request_id = ask(stack, FRANCE)
    first: list[Message] = []
    for message in cells.stream_events(request_id, stack=stack):
        if message.event == "status" and not first:
            gate.release(4)  # four tokens, then the model waits: the answer cannot end meanwhile
        first.append(message)
        if message.event == "token":
            break  # the client drops the connection mid-answer; the other tokens go on being written
    last_id = [m for m in first if m.id][-1].id

    rest = list(attached(stack, request_id, gate, last_event_id=last_id))

    ids = [m.id for m in first + rest if m.id]
    assert len(ids) == len(set(ids))  # nothing twice
    assert tokens(first) + tokens(rest) == rest[-1].data["content"]  # type: ignore[index] # nothing lost


def test_a_stream_opened_after_the_end_replays_the_result_at_once(stack: Stack, gate: ModelGate) -> None:
    gate.release()
    request_id = ask(stack, FRANCE)
    result = cells.wait_for_result(request_id, stack=stack)

    messages = events(stack, request_id)

    assert [m.event for m in messages] == ["done"]
    assert messages[0].data["content"] == result["content"]  # type: ignore[index]


def test_a_failed_request_ends_with_its_stored_error(stack: Stack, gate: ModelGate) -> None:
    request_id = ask(stack, f"{FRANCE} [fault:400]")  # not retriable: one attempt, then the error
    messages = list(attached(stack, request_id, gate))

    assert messages[-1].event == "error"
    assert messages[-1].data["error"] == stored(stack, request_id)["error"]  # type: ignore[index]


def test_heartbeats_keep_a_quiet_stream_open(stack: Stack, gate: ModelGate) -> None:
    request_id = ask(stack, f"{FRANCE} [fault:slow=1500,after=2]")  # a pause mid-answer
    url = f"{stack.backend_url}/api/v1/chat/{request_id}/stream"
    with httpx.stream("GET", url, timeout=30) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        assert reply.headers["cache-control"] == "no-cache"
        messages: list[Message] = []
        for message in parse(reply.iter_lines()):
            if message.event == "status":
                gate.release()  # attached: the answer, and its pause, may go on
            messages.append(message)
    assert Message(comment="heartbeat") in messages
    assert messages[-1].event == "done"


def test_unknown_request_is_404_and_a_bad_last_event_id_is_400(stack: Stack) -> None:
    missing = httpx.get(f"{stack.backend_url}/api/v1/chat/nope/stream")
    assert missing.status_code == 404
    assert "request_id returned by POST" in missing.json()["detail"]

    request_id = ask(stack, FRANCE)
    bad = httpx.get(f"{stack.backend_url}/api/v1/chat/{request_id}/stream", headers={"Last-Event-ID": "../x"})
    assert bad.status_code == 400
    assert "reconnect without it" in bad.json()["detail"]
    # A non-ASCII digit used to pass the check, then break every read of the stream.
    superscript = httpx.get(
        f"{stack.backend_url}/api/v1/chat/{request_id}/stream",
        headers={"Last-Event-ID": b"\xb2"},  # latin-1 "²"
    )
    assert superscript.status_code == 400
    # The header is not echoed back, whatever its length.
    long = "9" * 5000 + "x"
    echoed = httpx.get(
        f"{stack.backend_url}/api/v1/chat/{request_id}/stream", headers={"Last-Event-ID": long}
    )
    assert echoed.status_code == 400
    assert long not in echoed.text and len(echoed.text) < 300


def test_streams_past_the_waiter_cap_still_end_with_the_result(tmp_path: Path, gate: ModelGate) -> None:
    running = slow_stack(tmp_path, long_poll_max_waiters=1)
    try:
        request_id = ask(running, f"{FRANCE} [fault:slow=1500,after=2]")
        url = f"{running.backend_url}/api/v1/chat/{request_id}/stream"
        readers = threading.Barrier(3, action=gate.release)  # the tokens flow once all three attached

        def read(_: int) -> list[Message]:
            messages: list[Message] = []
            with httpx.stream("GET", url, timeout=30) as reply:
                for message in parse(reply.iter_lines()):
                    if message.event == "status" and not any(m.event == "status" for m in messages):
                        readers.wait(timeout=GATE_LIMIT_S)
                    messages.append(message)
            return messages

        with ThreadPoolExecutor(3) as pool:
            streams = list(pool.map(read, range(3)))
        content = stored(running, request_id)["content"]
        for messages in streams:  # one holds the waiter, the others re-read the store
            assert messages[-1].event == "done" and messages[-1].data["content"] == content  # type: ignore[index]
            assert Message(comment="heartbeat") in messages  # re-reading is not a reason to go quiet
    finally:
        gate.release()
        running.down()
