"""A keyed POST killed mid-way does not kill its Idempotency-Key: a replay takes the request over.

Claiming the key, recording the request and sending its event are separate steps; a
process killed between them leaves the key bound to a request with no record, or to a
pending record whose event was never sent. The replay sends that event (same id, so
Inngest runs it at most once) instead of answering 409 for the key's whole lifetime.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from ulid import ULID

from learninngest.kit.servers import free_port
from learninngest.store.sqlite import SQLiteStore
from tests.e2e.conftest import make_stack
from tests.processes import Processes
from tests.support import wait_for

QUERY = {"query": "What is the capital of France?"}


def replay_until_accepted(url: str, key: str) -> httpx.Response:
    """POST again with the key, as a client honouring 409 "retry in a moment" would."""

    def accepted() -> httpx.Response:
        reply = httpx.post(f"{url}/api/v1/chat", json=QUERY, headers={"Idempotency-Key": key}, timeout=30)
        assert reply.status_code == 202, reply.text
        return reply

    return wait_for(accepted, timeout=40, interval=0.5)


def final_result(url: str, request_id: str) -> dict[str, Any]:
    def final() -> dict[str, Any]:
        result = httpx.get(f"{url}/api/v1/chat/result/{request_id}", params={"wait": 5}, timeout=30).json()
        assert result["status"] != "pending", result
        return result

    return wait_for(final, timeout=30)


def pending_records(store: Path) -> list[str]:
    later = datetime.now(UTC) + timedelta(hours=1)
    records = asyncio.run(SQLiteStore(f"sqlite:///{store}").pending_before(later, 10))
    return [r.request_id for r in records if not r.event_ids]


@pytest.mark.timeout(120)  # several real processes start and die: slow on a busy machine
def test_a_post_killed_before_sending_its_event_is_taken_over_by_its_replay(
    processes: Processes, tmp_path: Path
) -> None:
    store = tmp_path / "results.db"
    backend_port, engine_port = free_port(), free_port()
    # A long send deadline: the first POST is still sending to the frozen engine when it dies.
    backend = processes.backend(backend_port, engine_port, store, event_send_timeout_s=25)
    engine = processes.engine(engine_port, f"{backend.url}/api/inngest")
    wait_for(lambda: httpx.get(f"{backend.url}/readyz").raise_for_status(), timeout=90)

    engine.signal(signal.SIGSTOP)
    first = threading.Thread(target=post_ignoring_errors, args=(backend.url, "k1"), daemon=True)
    first.start()
    request_id = wait_for(lambda: pending_records(store)[0], timeout=30)  # recorded, event not sent
    backend.kill9()
    engine.kill9()  # its memory goes with it: the event never arrived anywhere
    first.join(30)

    backend = processes.backend(backend_port, engine_port, store)
    processes.engine(engine_port, f"{backend.url}/api/inngest")
    wait_for(lambda: httpx.get(f"{backend.url}/readyz").raise_for_status(), timeout=90)

    replay = replay_until_accepted(backend.url, "k1")
    assert replay.json()["request_id"] == request_id
    result = final_result(backend.url, request_id)
    assert result["status"] == "done" and "Paris" in result["content"]
    assert "the first POST never sent its event; sending it now" in backend.log()


def test_a_key_whose_post_died_before_recording_the_request_is_taken_over(tmp_path: Path) -> None:
    stack = make_stack(tmp_path).up()
    try:
        # What a POST killed right after claiming its key leaves behind: a bound key, no record.
        request_id = str(ULID())
        store = SQLiteStore(stack.settings.result_store_url)
        assert asyncio.run(store.claim_idempotency_key("k2", request_id, 3600)) == request_id

        replay = replay_until_accepted(stack.backend_url, "k2")
        assert replay.json()["request_id"] == request_id
        result = final_result(stack.backend_url, request_id)
        assert result["status"] == "done" and "Paris" in result["content"]
    finally:
        stack.down()


def post_ignoring_errors(url: str, key: str) -> None:
    with contextlib.suppress(httpx.HTTPError):  # its backend is killed while it waits
        httpx.post(f"{url}/api/v1/chat", json=QUERY, headers={"Idempotency-Key": key}, timeout=90)
