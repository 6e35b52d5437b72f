"""A worker shutting down gracefully (WORKER_PAUSE) gets no new calls and finishes the one it holds."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import inngest

from learninngest.worker.client import release_blocking_client
from tests.engine.connect.support import ThreadWorker
from tests.engine.connect.worker_app import client_for
from tests.engine.harness import CaseContext, local_engine
from tests.support import wait_for


def gated(client: inngest.Inngest, name: str, started: threading.Event, release: threading.Event) -> Any:
    @client.create_function(
        fn_id="gated", trigger=inngest.TriggerEvent(event="test/connect.gated"), retries=0
    )
    async def fn(ctx: inngest.Context) -> str:
        started.set()
        await asyncio.to_thread(release.wait, 60)  # the test's thread releases it
        return f"by {name}"

    return fn


def test_a_pausing_worker_finishes_its_call_and_gets_no_new_one() -> None:
    with local_engine() as host:
        engine = host.server.app.state.engine if host.server else None
        assert engine is not None
        first, second = client_for(host.url, "connect-drain"), client_for(host.url, "connect-drain")
        a_started, b_started, release = threading.Event(), threading.Event(), threading.Event()
        try:
            with ThreadWorker(first, [gated(first, "a", a_started, release)], "a") as a:
                ctx = CaseContext(host, first, app_url="")
                held = ctx.send("test/connect.gated")
                assert a_started.wait(20)
                with ThreadWorker(second, [gated(second, "b", b_started, release)], "b"):
                    a.close_later()  # WORKER_PAUSE: a keeps its call, takes no new one
                    wait_for(lambda: _draining(engine, "a"), timeout=20)
                    fresh = ctx.send("test/connect.gated")
                    assert b_started.wait(20)
                    release.set()
                    assert ctx.wait_run(held)["output"] == "by a"
                    assert ctx.wait_run(fresh)["output"] == "by b"
        finally:
            release_blocking_client(first)
            release_blocking_client(second)


def _draining(engine: Any, instance_id: str) -> None:
    workers = engine.connect.router.workers.all()
    assert any(w.instance_id == instance_id and w.draining for w in workers), workers
