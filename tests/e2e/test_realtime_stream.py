"""STREAM_CHANNEL=realtime: the answer streams through the Inngest server's Realtime, no Redis.

The worker publishes token batches to the engine's /v1/realtime/publish; the backend's
/stream follows its subscription to /v1/realtime/connect. A second backend process that
shares only the store (SQLite file) and the Inngest server streams a run the first executes.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.engine.app import create_engine_app
from learninngest.kit import cells
from learninngest.kit.servers import BackgroundServer
from learninngest.stream.sse import Message, parse
from tests.e2e.conftest import make_stack
from tests.e2e.test_signed_mode import SIGNING_KEY, signed_pair
from tests.support import capture_log

FRANCE = "What is the capital of France?"


def tokens(messages: list[Message], attempt: int | None = None) -> str:
    return "".join(
        m.data["text"]
        for m in messages
        if m.event == "token" and m.data and (attempt is None or m.data["attempt"] == attempt)
    )


def test_the_answer_streams_through_realtime_and_done_equals_the_stored_result(tmp_path: Path) -> None:
    stack = make_stack(
        tmp_path, stream_channel="realtime", offline_latency_mean_ms=1500, offline_latency_spread_ms=0
    ).up()
    try:
        with capture_log("learninngest.engine", "%(message)s") as engine_lines:
            request_id = cells.send(FRANCE, stack=stack, clean=False)["request_id"]
            messages = list(cells.stream_events(request_id, stack=stack))
        result = httpx.get(f"{stack.backend_url}/api/v1/chat/result/{request_id}").json()
    finally:
        stack.down()

    # The backend's subscription is the engine's Realtime socket (the stack's engine logs it).
    assert any("learninngest-chat/chat" in line for line in engine_lines.lines), engine_lines.lines

    kinds = [m.event for m in messages]
    assert kinds.count("token") >= 1 and kinds[-1] == "done"  # batched: STREAM_FLUSH_MS
    assert {"status": "running", "attempt": 1} in [m.data for m in messages if m.event == "status"]
    assert messages[-1].data is not None
    assert messages[-1].data["content"] == result["content"] == tokens(messages)
    assert "Paris" in result["content"]


def test_a_second_backend_streams_a_run_the_first_executes(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'results.db'}"
    stack = make_stack(
        tmp_path,
        result_store_url=store,
        stream_channel="realtime",
        offline_latency_mean_ms=1500,
        offline_latency_spread_ms=0,
    ).up()
    try:
        # Backend B is not synced with the engine: it only serves clients; A runs chat_worker.
        other = create_app(
            get_settings(
                result_store_url=store, inngest_base_url=stack.inngest_url, stream_channel="realtime"
            )
        )
        with BackgroundServer(other, name="backend-2") as second:
            accepted = httpx.post(
                f"{second.url}/api/v1/chat", json={"query": f"{FRANCE} [fault:503,after=2]", "clean": False}
            ).json()
            url = f"{second.url}/api/v1/chat/{accepted['request_id']}/stream"
            with httpx.stream("GET", url, timeout=60) as reply:
                messages = list(parse(reply.iter_lines()))
    finally:
        stack.down()

    events = [m.event for m in messages if m.comment is None]
    assert "retry" in events and events[-1] == "done"
    content = messages[-1].data["content"]  # type: ignore[index]
    assert tokens(messages, attempt=2) == content and "Paris" in content


def test_cloud_mode_streams_through_realtime_with_the_signing_key(tmp_path: Path) -> None:
    # As on Inngest Cloud: the backend's publishes and its token request carry the signing key.
    # The answer takes 1.5 s, as in the tests above: the stream is open before the run ends (a
    # stream opened after the end gets the stored result only, no tokens).
    engine_port, backend_port, engine_settings, settings = signed_pair(
        tmp_path, stream_channel="realtime", offline_latency_mean_ms=1500, offline_latency_spread_ms=0
    )
    with (
        BackgroundServer(create_engine_app(engine_settings), name="engine", port=engine_port) as engine,
        BackgroundServer(create_app(settings), name="backend", port=backend_port) as backend,
    ):
        sync = httpx.post(
            f"{engine.url}/v1/apps/sync", headers={"authorization": f"Bearer {SIGNING_KEY}"}, timeout=10
        ).json()["data"]
        assert [r["ok"] for r in sync] == [True], sync
        accepted = httpx.post(f"{backend.url}/api/v1/chat", json={"query": FRANCE, "clean": False})
        url = f"{backend.url}/api/v1/chat/{accepted.json()['request_id']}/stream"
        with httpx.stream("GET", url, timeout=60) as reply:
            messages = list(parse(reply.iter_lines()))

    events = [m.event for m in messages if m.comment is None]
    # Tokens come in batches (STREAM_FLUSH_MS): at least one event, their text the whole answer.
    assert events.count("token") >= 1 and events[-1] == "done"
    assert messages[-1].data is not None and tokens(messages) == messages[-1].data["content"]
