"""A worker that disappears mid-call: the call is retried on another worker after the lease;
a worker cut off from the gateway hands its reply in over POST /v0/connect/flush."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import inngest
import pytest

from learninngest.worker.client import release_blocking_client
from tests.engine.connect.support import TcpProxy, ThreadWorker, worker_process
from tests.engine.connect.worker_app import client_for, make_functions
from tests.engine.harness import CaseContext, EngineLog, local_engine
from tests.support import wait_for

# Short leases so a dead worker is noticed in seconds (the real server: 2 minutes).
LEASE_S = 4.0


def test_killed_worker_call_retried_on_another(tmp_path: Path, engine_log: EngineLog) -> None:
    with local_engine(connect_lease_s=LEASE_S) as host:
        client = client_for(host.url, "connect-kill")
        try:
            with worker_process(host.url, "connect-kill", "doomed", tmp_path, hang=True) as doomed:
                engine = host.server.app.state.engine if host.server else None
                assert engine is not None
                wait_for(lambda: _has_worker(engine, "doomed"), timeout=20)
                ctx = CaseContext(host, client, app_url="")
                event_id = ctx.send("test/connect.hold")
                # The call is in the doomed worker's hands (its step started), then it dies.
                wait_for(lambda: (tmp_path / "doomed.0").read_text(), timeout=20)
                with ThreadWorker(client, make_functions(client, "spare", tmp_path), "spare"):
                    doomed.kill()
                    run = ctx.wait_run(event_id, timeout=30)
                    assert run["output"] == "done by spare"
        finally:
            release_blocking_client(client)
    assert any("stopped extending its lease" in line for line in engine_log.lines), engine_log.lines


def test_reply_flushed_when_the_socket_is_gone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "learninngest.engine")
    # The lease outlives the flush (the SDK flushes an unacked reply after lease / 4).
    with (
        local_engine(connect_lease_s=3 * LEASE_S) as host,
        TcpProxy(host.server.port if host.server else 0) as proxy,
    ):
        client = client_for(host.url, "connect-flush")
        started, cut = threading.Event(), threading.Event()

        @client.create_function(
            fn_id="wait-cut", trigger=inngest.TriggerEvent(event="test/connect.cut"), retries=0
        )
        async def wait_cut(ctx: inngest.Context) -> str:
            started.set()
            await asyncio.to_thread(cut.wait, 60)  # the test's thread sets it after the cut
            return "after the cut"

        try:
            with ThreadWorker(client, [wait_cut], "cut-off", rewrite_gateway_endpoint=proxy.rewrite):
                ctx = CaseContext(host, client, app_url="")
                event_id = ctx.send("test/connect.cut")
                assert started.wait(20), ctx.runs(event_id)
                proxy.cut()  # the worker stays alive but cannot reach the gateway
                cut.set()
                run = ctx.wait_run(event_id, timeout=30)
                assert run["output"] == "after the cut"
                proxy.restore()
        finally:
            release_blocking_client(client)
    flushed = [r.getMessage() for r in caplog.records if "connect reply flushed" in r.getMessage()]
    assert flushed and "(delivered)" in flushed[0], caplog.text


def _has_worker(engine: object, instance_id: str) -> None:
    workers = engine.connect.router.workers.all()  # type: ignore[attr-defined]
    assert any(w.instance_id == instance_id and w.takes_calls for w in workers), workers
