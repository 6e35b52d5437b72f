"""The TypeScript-SDK 4.x app of the engine tests (tests/engine/ts_app4), started against an engine.

Its dependencies come from the committed package-lock.json (`make ts-app4`, run by `make
test` and so by .ci/run; the fixture runs `npm ci` itself when node_modules is missing).
Without Node.js and npm the tests that use it report themselves skipped (the kit needs no
Node.js); CI installs both, so there they always run. A test module builds its own engine
and starts the app with `started(host)`; features/*.js of the app hold the functions.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from learninngest.engine.wire import signing
from learninngest.kit.servers import free_port
from learninngest.serving.child_process import stop_child
from tests.engine.harness import Host
from tests.support import wait_for

APP_DIR = Path(__file__).parent / "ts_app4"


def ensure_node_modules() -> str:
    """The `node` to run the app with; skips the test without Node.js and npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("Node.js and npm are needed for the TypeScript-SDK app tests (CI installs them)")
    if not (APP_DIR / "node_modules" / "inngest").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=APP_DIR, check=True, timeout=600
        )
    return node


class Ts4App:
    def __init__(self, host: Host, port: int) -> None:
        self.host = host
        self.url = f"http://127.0.0.1:{port}"

    def advance(self, engine_s: float) -> None:
        """Move the engine's paused clock on (the module's engine is `local_engine(paused=True)`)."""
        assert self.host.clock is not None
        self.host.clock.advance(engine_s)

    def seen(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/seen", timeout=5).json())

    def send(self, name: str, data: dict[str, Any] | None = None) -> str:
        with self.host.rest() as rest:
            return str(rest.post("/e/key", json={"name": name, "data": data or {}}).json()["ids"][0])

    def runs_of(self, event_id: str) -> list[dict[str, Any]]:
        with self.host.rest() as rest:
            return list(rest.get(f"/v1/events/{event_id}/runs").json()["data"])

    def run(self, run_id: str) -> dict[str, Any]:
        with self.host.rest() as rest:
            return dict(rest.get(f"/v1/runs/{run_id}").json()["data"])

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        with self.host.rest() as rest:
            return list(rest.get(f"/v1/runs/{run_id}/steps").json()["data"])

    def wait_run(self, event_id: str, status: str, timeout: float = 30) -> dict[str, Any]:
        """The event's one run, once it has `status`."""

        def check() -> dict[str, Any]:
            runs = self.runs_of(event_id)
            assert len(runs) == 1 and runs[0]["status"] == status, runs
            return runs[0]

        return dict(wait_for(check, timeout=timeout))

    def wait_status(self, run_id: str, status: str, timeout: float = 30) -> dict[str, Any]:
        def check() -> dict[str, Any]:
            run = self.run(run_id)
            assert run["status"] == status, run
            return run

        return dict(wait_for(check, timeout=timeout))


@contextlib.contextmanager
def started(host: Host) -> Iterator[Ts4App]:
    """The app on a free port, synced with the engine at `host`; stopped on the way out."""
    node = ensure_node_modules()
    port = free_port()
    env = dict(os.environ, PORT=str(port), ENGINE_URL=host.url)
    if host.signing_key:  # Cloud mode: the SDK signs, and checks the engine's signatures
        env.update(INNGEST_SIGNING_KEY=host.signing_key, INNGEST_DEV="0")
    else:
        env["INNGEST_DEV"] = "1"
    proc = subprocess.Popen([node, "app.js"], cwd=APP_DIR, env=env)
    try:
        app = Ts4App(host, port)
        wait_for(app.seen, timeout=30, interval=0.1)
        # What `-u URL` does at start-up (signed in Cloud mode).
        headers = {"x-inngest-server-kind": "cloud" if host.signing_key else "dev"}
        if host.signing_key:
            headers["x-inngest-signature"] = signing.sign(b"", host.signing_key)
        resp = httpx.put(f"{app.url}/api/inngest", headers=headers, timeout=15)
        assert resp.status_code == 200, resp.text
        yield app
    finally:
        stop_child(proc)
