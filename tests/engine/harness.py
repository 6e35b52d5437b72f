"""Start an engine (or a real Dev Server) and an app serving inngest-py functions, then drive them.

Everything goes over real HTTP on loopback: the app is a FastAPI app served by
`inngest.fast_api.serve` under uvicorn (kit.servers.BackgroundServer), so the SDK code
path is exactly the one a real backend uses.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import inngest
import inngest.fast_api
from fastapi import FastAPI

from learninngest.engine.app import create_engine_app
from learninngest.engine.clock import Clock
from learninngest.engine.settings import EngineSettings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.worker.client import release_blocking_client
from tests.support import LogLines, wait_for

TEST_SIGNING_KEY = "signkey-test-" + "ab12" * 16
TIME_SCALE = 0.01


EngineLog = LogLines
"""Lines of the `learninngest.engine` logger as `LEVEL message` (fixture `engine_log`)."""


class PausedClock(Clock):
    """Engine time that stands still until the test moves it on with `advance` (scale 1).

    A state the test wants to look at lasts until it has looked, however slow the machine;
    a timeout, a backoff or a throttle's period passes when the test says so. Times the SDK
    sends as absolute (a sleep's wake-up time, Retry-After) are the app's wall clock, which
    goes on meanwhile: a test that needs those exact uses the scaled clock instead.
    """

    def __init__(self) -> None:
        super().__init__(1.0)
        self._at = time.time()

    def now(self) -> float:
        return self._at + self.ahead


@dataclass
class Host:
    """An Inngest server the cases run against: the local engine or a real Dev Server."""

    kind: str  # "engine" or "devserver"
    url: str
    signing_key: str | None = None
    server: BackgroundServer | None = None
    clock: Clock | None = None  # the engine's, for tests that move time on

    def rest(self) -> httpx.Client:
        headers = {"authorization": f"Bearer {self.signing_key}"} if self.signing_key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10.0)


def engine_settings(**overrides: Any) -> EngineSettings:
    # connect_wait_s: how long a call waits for a connect worker to take it (10 s by default, a
    # real-time window): a worker still starting on a loaded machine gets a minute.
    values: dict[str, Any] = {
        "port": free_port(),
        "db_path": None,
        "time_scale": TIME_SCALE,
        "connect_wait_s": 60.0,
    }
    return EngineSettings(**(values | overrides))


@contextlib.contextmanager
def local_engine(*, paused: bool = False, **overrides: Any) -> Iterator[Host]:
    """An engine in a thread; `paused`: its time moves only when the test advances it."""
    settings = engine_settings(**overrides)
    clock = PausedClock() if paused else Clock(settings.time_scale)
    server = BackgroundServer(create_engine_app(settings, clock=clock), name="engine", port=settings.port)
    with server:
        yield Host("engine", server.url, settings.signing_key, server, clock)


@contextlib.contextmanager
def dev_server(cli: str) -> Iterator[Host]:
    """A real `inngest dev` binary (INNGEST_CLI); its log is kept next to the test's files."""
    port = free_port()
    with open("devserver.log", "wb") as logfile:
        proc = subprocess.Popen(
            [cli, "dev", "--no-discovery", "--no-poll", "--port", str(port)],
            stdout=logfile,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(lambda: httpx.get(f"{url}/health", timeout=1.0).raise_for_status(), timeout=30)
            yield Host("devserver", url)
        finally:
            proc.terminate()
            proc.wait(10)


def dev_server_cli() -> str | None:
    cli = os.environ.get("INNGEST_CLI")
    return cli if cli and (os.path.exists(cli) or shutil.which(cli)) else None


@dataclass
class CaseContext:
    """What a case's `check` gets: the client, the host, and helpers that wait with deadlines."""

    host: Host
    client: inngest.Inngest
    app_url: str
    box: dict[str, Any] = field(default_factory=dict)

    def send(self, name: str, data: dict[str, Any] | None = None, id: str | None = None) -> str:
        event = inngest.Event(name=name, data=data or {}, id=id or "")
        return self.client.send_sync(event)[0]

    def send_many(self, name: str, datas: list[dict[str, Any]]) -> list[str]:
        """Several events in one request: they arrive together, whatever the machine's speed."""
        return list(self.client.send_sync([inngest.Event(name=name, data=d) for d in datas]))

    def flow(self, event_id: str) -> list[dict[str, Any]]:
        """Engine only: the flow-control decisions recorded for an event."""
        with self.host.rest() as rest:
            resp = rest.get(f"/v1/events/{event_id}/flow")
            resp.raise_for_status()
            return list(resp.json()["data"])

    def advance(self, engine_s: float) -> None:
        """Move the engine's time on by `engine_s` intended seconds. A real Dev Server's time
        goes on by itself: there this does nothing, and the waits' patience covers it."""
        if self.host.clock is not None:
            self.host.clock.advance(engine_s)

    def patience(self, engine_s: float) -> float:
        """Seconds to wait: the engine's virtual clock is fast; a real Dev Server waits real time."""
        return engine_s if self.host.kind == "engine" else max(engine_s, 180.0)

    def runs(self, event_id: str) -> list[dict[str, Any]]:
        with self.host.rest() as rest:
            resp = rest.get(f"/v1/events/{event_id}/runs")
            resp.raise_for_status()
            return list(resp.json()["data"])

    def run(self, run_id: str) -> dict[str, Any]:
        with self.host.rest() as rest:
            resp = rest.get(f"/v1/runs/{run_id}")
            resp.raise_for_status()
            return dict(resp.json()["data"])

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        with self.host.rest() as rest:
            resp = rest.get(f"/v1/runs/{run_id}/steps")
            resp.raise_for_status()
            return list(resp.json()["data"])

    def wait_run(self, event_id: str, status: str = "Completed", timeout: float = 15.0) -> dict[str, Any]:
        """The single run of `event_id`, once it has `status`."""

        def check() -> dict[str, Any]:
            runs = self.runs(event_id)
            assert len(runs) == 1, runs
            assert runs[0]["status"] == status, runs[0]
            return runs[0]

        return wait_for(check, timeout=self.patience(timeout), interval=0.02)

    def wait_step(self, run_id: str, name: str, status: str, timeout: float = 10.0) -> dict[str, Any]:
        def check() -> dict[str, Any]:
            rows = [s for s in self.steps(run_id) if s["name"] == name and s["status"] == status]
            assert rows, self.steps(run_id)
            return rows[-1]

        return wait_for(check, timeout=timeout)


def sync(host: Host, app_url: str) -> None:
    """PUT the app (as `-u URL` would); the SDK registers itself with the host."""
    kind = "cloud" if host.signing_key else "dev"
    resp = httpx.put(app_url, headers={"x-inngest-server-kind": kind}, timeout=10.0)
    body = resp.json()
    assert resp.status_code == 200 and body.get("ok"), body


@contextlib.contextmanager
def served(
    host: Host,
    app_id: str,
    make_functions: Callable[[inngest.Inngest, dict[str, Any]], list[inngest.Function[Any]]],
    *,
    signing_key: str | None = None,
    do_sync: bool = True,
    serve_options: dict[str, Any] | None = None,
) -> Iterator[CaseContext]:
    """Serve the case's functions on a fresh FastAPI app, sync it, and hand over a context.

    `serve_options`: more arguments for `inngest.fast_api.serve` (a case's SERVE, e.g. streaming)."""
    signed = signing_key is not None
    client = inngest.Inngest(
        app_id=app_id,
        is_production=signed,
        signing_key=signing_key,
        event_key="test-event-key" if signed else None,
        api_base_url=host.url,
        event_api_base_url=host.url,
    )
    box: dict[str, Any] = {"started": time.monotonic()}
    app = FastAPI()
    inngest.fast_api.serve(app, client, make_functions(client, box), **(serve_options or {}))
    try:
        with BackgroundServer(app, name=app_id) as server:
            app_url = f"{server.url}/api/inngest"
            if do_sync:
                sync(host, app_url)
            yield CaseContext(host, client, app_url, box)
    finally:
        release_blocking_client(client)  # send_sync's kept connection, not left to the GC
