"""The TypeScript-SDK 4.x app of the engine tests (tests/engine/ts_app4), started against an engine.

Its dependencies come from the committed package-lock.json (`make ts-app4`, run by `make
test` and so by .ci/run; the fixture runs `npm ci` itself when node_modules is missing).
Without Node.js and npm the tests that use it report themselves skipped (the kit needs no
Node.js); CI installs both, so there they always run. A test module builds its own engine
and starts the app with `started(host)`; features/*.js of the app hold the functions.
"""

from __future__ import annotations

import contextlib
import json
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

    def rows(self, run_id: str) -> list[tuple[str, str, str]]:
        """The run's timeline as (name, op, status) rows."""
        return [(s["name"], s["op"], s["status"]) for s in self.steps(run_id)]

    def run_showing(self, event_id: str, row: tuple[str, str, str], timeout: float = 30) -> str:
        """The id of the event's one run, once its timeline has `row` (name, op, status)."""

        def shown() -> str:
            (run,) = self.runs_of(event_id)
            assert row in self.rows(run["run_id"])
            return str(run["run_id"])

        return str(wait_for(shown, timeout=timeout))

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


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """(event, data) pairs of a server-sent-event stream; comments and blank lines skipped."""
    event = ""
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            yield event, json.loads(line[6:])
            event = ""


def follow_streamed_answer(app: Ts4App, who: str) -> None:
    """Ask the sleeping endpoint (/endpoint/nap) for `text/event-stream`, follow its
    `inngest.redirect_info` to the engine's SSE, end the sleep, and check that the rest of
    the stream (the run's metadata, then the endpoint's response) arrives there."""
    accept = {"accept": "text/event-stream"}
    with httpx.stream(
        "GET", f"{app.url}/endpoint/nap", params={"who": who}, headers=accept, timeout=30
    ) as first:
        assert first.headers["content-type"].startswith("text/event-stream")
        before = dict(sse_events(first.iter_lines()))
    print("before the redirect:", sorted(before))
    run_id, redirect = before["inngest.metadata"]["runId"], before["inngest.redirect_info"]["url"]
    assert redirect.startswith(f"{app.host.url}/v1/realtime/sse?token=")

    with httpx.stream("GET", redirect, timeout=30) as sse:
        assert sse.status_code == 200  # the token is a Realtime JWT the engine accepts
        lines = sse.iter_lines()
        assert next(lines) == ":"  # subscribed before the run goes on
        app.advance(10)  # the sleep ends: the engine calls the endpoint back
        after = {}
        for event, data in sse_events(lines):
            after[event] = data
            if event == "inngest.response":
                break
    print("after the redirect:", after)
    assert after["inngest.metadata"]["runId"] == run_id
    response = after["inngest.response"]
    assert response["status"] == "succeeded" and response["response"]["statusCode"] == 200
    expected = {"before": "before", "after": f"after {who}"}
    assert json.loads(response["response"]["body"]) == expected
    output = app.wait_status(run_id, "Completed")["output"]  # the response, as a called-back run's
    assert json.loads(output["body"]) == expected
