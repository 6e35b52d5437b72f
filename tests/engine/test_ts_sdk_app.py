"""The engine against a real TypeScript-SDK app: inngest 3.x on Node, served by its Node handler.

tests/engine/ts_app/app.js holds the functions; its dependencies come from the committed
package-lock.json (`npm ci`, run by `make test` and .ci/run; the fixture runs it too when
node_modules is missing). The app answers GET /seen with what its functions saw.

Without Node.js and npm these tests report themselves skipped (the kit needs no Node.js);
CI installs both (.ci/run), so there they always run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from learninngest.kit.servers import free_port
from learninngest.serving.child_process import stop_child
from tests.engine.harness import Host, local_engine
from tests.support import wait_for

APP_DIR = Path(__file__).parent / "ts_app"
INLINE_LIMIT = 5000


def ensure_node_modules() -> None:
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("Node.js and npm are needed for the TypeScript-SDK app tests (CI installs them)")
    if (APP_DIR / "node_modules" / "inngest").is_dir():
        return
    npm = shutil.which("npm")
    assert npm
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=APP_DIR, check=True, timeout=300
    )


class TsApp:
    def __init__(self, host: Host, port: int) -> None:
        self.host = host
        self.url = f"http://127.0.0.1:{port}"

    def seen(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/seen", timeout=5).json())

    def send(self, name: str) -> str:
        with self.host.rest() as rest:
            return str(rest.post("/e/key", json={"name": name, "data": {}}).json()["ids"][0])

    def run(self, event_id: str, status: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        with self.host.rest() as rest:

            def check() -> dict[str, Any]:
                runs = rest.get(f"/v1/events/{event_id}/runs").json()["data"]
                assert len(runs) == 1 and runs[0]["status"] == status, runs
                return dict(runs[0])

            run = wait_for(check, timeout=30)
            return run, rest.get(f"/v1/runs/{run['run_id']}/steps").json()["data"]


@pytest.fixture(scope="module")
def app() -> Iterator[TsApp]:
    ensure_node_modules()
    node = shutil.which("node")
    assert node
    # A small inline limit: the `big` function's later calls go with use_api.
    with local_engine(inline_state_limit=INLINE_LIMIT) as host:
        port = free_port()
        env = dict(os.environ, PORT=str(port), ENGINE_URL=host.url, INNGEST_DEV="1")
        proc = subprocess.Popen([node, "app.js"], cwd=APP_DIR, env=env)
        try:
            ts = TsApp(host, port)
            wait_for(ts.seen, timeout=30, interval=0.1)
            resp = httpx.put(f"{ts.url}/api/inngest", timeout=15)  # what `-u URL` does at start-up
            assert resp.status_code == 200, resp.text
            yield ts
        finally:
            stop_child(proc)


def test_step_sleep_with_a_duration(app: TsApp) -> None:
    run, steps = app.run(app.send("ts/sleep"), "Completed")
    assert run["output"] == "woke"
    (nap,) = [s for s in steps if s["op"] == "Sleep"]
    assert (nap["status"], nap["intended_delay_ms"]) == ("Completed", 10_000)


def test_a_non_retriable_error_keeps_the_sdk_error_and_reaches_on_failure(app: TsApp) -> None:
    run, steps = app.run(app.send("ts/reject"), "Failed")
    assert run["output"]["message"] == "bad input"
    assert "NonRetriableError: bad input" in run["output"]["stack"]
    assert [(s["op"], s["status"]) for s in steps] == [("Call", "Failed")]  # no retry
    assert app.seen()["calls"]["rejecter"] == 1
    failure = wait_for(lambda: app.seen()["failures"][-1], timeout=15)
    assert failure["message"] == "bad input"  # onFailure's `error` is the SDK's
    assert failure["data"]["error"]["error"] == "NonRetriableError"
    assert failure["data"]["run_id"] == run["run_id"]


def test_a_step_throwing_non_retriable_error_fails_at_once(app: TsApp) -> None:
    run, steps = app.run(app.send("ts/step-no-retry"), "Failed")
    assert run["output"]["message"] == "card declined"
    assert not [s for s in steps if s["status"] == "Retrying"]
    assert app.seen()["calls"]["charge"] == 1


def test_retry_after_error_in_a_step_sets_the_delay(app: TsApp) -> None:
    run, steps = app.run(app.send("ts/step-retry-after"), "Completed")
    assert run["output"] == "page"
    (retrying,) = [s for s in steps if s["status"] == "Retrying"]
    assert retrying["intended_delay_ms"] == 30_000


def test_a_step_beside_an_invoke_runs_now(app: TsApp) -> None:
    event_id = app.send("ts/parallel")

    def quick_ran() -> None:
        assert app.seen()["quick"], "the quick step has not run yet"

    wait_for(quick_ran, timeout=30)
    with app.host.rest() as rest:
        assert rest.get(f"/v1/events/{event_id}/runs").json()["data"][0]["status"] == "Running"
    app.send("ts/release")
    run, _ = app.run(event_id, "Completed")
    assert run["output"] == ["quick", "released"]


def test_a_large_memo_is_fetched_through_use_api(app: TsApp) -> None:
    run, steps = app.run(app.send("ts/big"), "Completed")
    # 9000 bytes of memo > INLINE_LIMIT: the last calls had no steps inline; the SDK fetched them.
    assert run["output"] == [3000, 3000, 3000, "ts/big"]
    assert [s["name"] for s in steps if s["op"] == "StepRun"] == ["a", "b", "c"]
    assert app.seen()["useApi"]["ts-app-big"] == [False, False, True, True]


def test_the_engine_reads_the_typescript_sdk_s_sync_answer_as_a_success(app: TsApp) -> None:
    # The TS SDK answers a sync with {"message": "Successfully registered"} and no "ok" (the
    # Python SDK says "ok": true): a 2xx without an error is a success, as in pkg/deploy.
    answer = httpx.put(f"{app.url}/api/inngest", timeout=15)
    assert answer.status_code == 200 and answer.json()["message"] == "Successfully registered"
    url = f"{app.url}/api/inngest"
    with app.host.rest() as rest:
        (result,) = rest.post("/v1/apps/sync", json={"url": url}).json()["data"]
        assert result["ok"] is True and "error" not in result, result
        syncs = rest.get("/v1/apps").json()["data"]["syncs"]
    assert [s["ok"] for s in syncs if s["url"] == url] == [True]
