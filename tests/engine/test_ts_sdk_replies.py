"""Replies the TypeScript SDK sends (the Python SDK never does): the engine reads them as the
real server does.

The app is a small FastAPI app that answers like inngest-js 3.x/4.x's InngestCommHandler, with
the shapes taken from its source: `x-inngest-no-retry` ("true" / "false") and `retry-after`
(whole seconds) on 206 StepError replies too, a 400 with the serialized error as JSON body for
a non-retriable error, `Sleep` with a duration (`"10s"`) in `name`, and
`x-inngest-req-version: 2` on every reply.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from learninngest.kit.servers import BackgroundServer
from tests.engine.harness import Host, local_engine
from tests.support import wait_for

APP_ID = "ts-like"
TS_HEADERS = {
    "content-type": "application/json",
    "x-inngest-sdk": "inngest-js:v3.44.0",
    "x-inngest-framework": "express",
    "x-inngest-req-version": "2",
}


def step_hash(step_id: str) -> str:
    return hashlib.sha1(step_id.encode()).hexdigest()  # noqa: S324 - the SDK's step id hash


def serialized(name: str, message: str) -> dict[str, Any]:
    """inngest-js serializeError(): name, message, stack and its marker."""
    return {
        "name": name,
        "message": message,
        "stack": f"{name}: {message}\n    at handler (fn.ts:3:11)",
        "__serialized": True,
    }


def op(kind: str, step_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_hash(step_id), "op": kind, "name": step_id, "displayName": step_id} | extra


def reply(status: int, body: Any, **headers: str) -> Response:
    return Response(json.dumps(body).encode(), status, headers=TS_HEADERS | headers)


def answer(scenario: str, body: dict[str, Any]) -> Response:
    """What inngest-js answers for each scenario, given the engine's call body."""
    steps, attempt = body["steps"], body["ctx"]["attempt"]
    if scenario == "step-no-retry":
        if step_hash("charge") not in steps:
            error = serialized("NonRetriableError", "card declined")
            return reply(206, [op("StepError", "charge", error=error)], **{"x-inngest-no-retry": "true"})
        return reply(400, steps[step_hash("charge")]["error"], **{"x-inngest-no-retry": "true"})
    if scenario == "step-retry-after":
        if step_hash("fetch") in steps:
            return reply(200, {"fetched": steps[step_hash("fetch")]["data"]})
        if attempt == 0:
            error = serialized("RetryAfterError", "rate limited")
            headers = {"x-inngest-no-retry": "false", "retry-after": "30"}
            return reply(206, [op("StepError", "fetch", error=error)], **headers)
        return reply(206, [op("StepRun", "fetch", data="page")])
    if scenario == "sleep-name":
        if step_hash("nap") in steps:
            return reply(200, "woke")
        return reply(206, [{"id": step_hash("nap"), "op": "Sleep", "name": "10s", "displayName": "nap"}])
    if scenario == "sleep-opts":
        if step_hash("nap") in steps:
            return reply(200, "woke")
        return reply(206, [op("Sleep", "nap", opts={"duration": "1m"})])
    if scenario == "reject":
        if attempt == 0:  # a retriable error: 500, no-retry "false"
            return reply(500, serialized("Error", "flaky upstream"), **{"x-inngest-no-retry": "false"})
        return reply(400, serialized("NonRetriableError", "bad input"), **{"x-inngest-no-retry": "true"})
    if scenario == "lazy-only":  # a defer alone (the SDK's fallback shape), then the return
        if step_hash("tell") in body["defers"]:
            return reply(200, "done")
        defer = {"fn_slug": f"{APP_ID}-follow-up", "input": {"n": 1}}
        return reply(206, [op("DeferAdd", "tell", opts=defer, userland={"id": "tell"})])
    if scenario == "lazy-only-forever":  # an abort of a defer that never was, every time
        target = {"target_hashed_id": step_hash("never"), "fn_slug": f"{APP_ID}-follow-up", "id": "never"}
        return reply(206, [op("DeferAbort", "never:abort", opts=target, userland={"id": "never"})])
    raise AssertionError(f"unknown scenario {scenario}")


SCENARIOS = (
    "step-no-retry",
    "step-retry-after",
    "sleep-name",
    "sleep-opts",
    "reject",
    "lazy-only",
    "lazy-only-forever",
)


def make_app(box: dict[str, Any]) -> FastAPI:
    app = FastAPI()

    @app.post("/api/inngest")
    async def call(request: Request, fnId: str, stepId: str) -> Response:  # noqa: N803 - protocol names
        body = json.loads(await request.body())
        scenario = fnId.removeprefix(f"{APP_ID}-")
        box.setdefault("calls", []).append((scenario, stepId, body["ctx"]["attempt"], body["version"]))
        if scenario == "on-failure":
            box.setdefault("failures", []).append(body["event"]["data"])
            return reply(200, None)
        return answer(scenario, body)

    return app


def function(app_url: str, scenario: str, retries: int, trigger: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"{APP_ID}-{scenario}",
        "name": scenario,
        "triggers": [trigger],
        "steps": {
            "step": {
                "id": "step",
                "name": "step",
                "retries": {"attempts": retries},
                "runtime": {"type": "http", "url": f"{app_url}?fnId={APP_ID}-{scenario}&stepId=step"},
            }
        },
    }


@pytest.fixture(scope="module")
def setup() -> Iterator[tuple[Host, dict[str, Any]]]:
    box: dict[str, Any] = {}
    with local_engine() as host, BackgroundServer(make_app(box), name=APP_ID) as server:
        app_url = f"{server.url}/api/inngest"
        functions = [function(app_url, s, 3, {"event": f"ts/{s}"}) for s in SCENARIOS]
        functions.append(
            function(
                app_url,
                "on-failure",
                0,
                {
                    "event": "inngest/function.failed",
                    "expression": f"event.data.function_id == '{APP_ID}-reject'",
                },
            )
        )
        body = {
            "appName": APP_ID,
            "url": app_url,
            "deployType": "ping",
            "sdk": "js:v3.44.0",
            "functions": functions,
        }
        resp = httpx.post(f"{host.url}/fn/register", json=body)
        assert resp.status_code == 200 and resp.json()["ok"], resp.text
        yield host, box


def run_of(host: Host, scenario: str, status: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with host.rest() as rest:
        event_id = rest.post("/e/key", json={"name": f"ts/{scenario}", "data": {}}).json()["ids"][0]

        def check() -> dict[str, Any]:
            runs = rest.get(f"/v1/events/{event_id}/runs").json()["data"]
            assert len(runs) == 1 and runs[0]["status"] == status, runs
            return dict(runs[0])

        run = wait_for(check, timeout=20)
        steps = rest.get(f"/v1/runs/{run['run_id']}/steps").json()["data"]
    return run, steps


def test_a_206_step_error_with_no_retry_fails_at_once(setup: tuple[Host, dict[str, Any]]) -> None:
    host, box = setup
    run, steps = run_of(host, "step-no-retry", "Failed")
    assert [(s["op"], s["status"], s["attempt"]) for s in steps if s["name"] == "charge"] == [
        ("StepError", "Failed", 0)
    ]
    assert not [s for s in steps if s["status"] == "Retrying"]
    # The memoized step error (name, message, stack) came back to the app, which rethrew it.
    sent = serialized("NonRetriableError", "card declined")
    assert run["output"] == {k: sent[k] for k in ("name", "message", "stack")}


def test_retry_after_on_a_206_step_error_sets_the_delay(setup: tuple[Host, dict[str, Any]]) -> None:
    host, _ = setup
    run, steps = run_of(host, "step-retry-after", "Completed")
    assert run["output"] == {"fetched": "page"}
    (retrying,) = [s for s in steps if s["status"] == "Retrying"]
    assert retrying["op"] == "StepError" and retrying["intended_delay_ms"] == 30_000  # not the 15 s backoff


@pytest.mark.parametrize(("scenario", "delay_ms"), [("sleep-name", 10_000), ("sleep-opts", 60_000)])
def test_a_sleep_duration_is_accepted(
    setup: tuple[Host, dict[str, Any]], scenario: str, delay_ms: int
) -> None:
    host, _ = setup
    run, steps = run_of(host, scenario, "Completed")
    assert run["output"] == "woke"
    (sleep,) = [s for s in steps if s["op"] == "Sleep"]
    assert sleep["status"] == "Completed" and sleep["intended_delay_ms"] == delay_ms


def test_a_400_error_body_is_the_output_and_reaches_on_failure(setup: tuple[Host, dict[str, Any]]) -> None:
    host, box = setup
    run, steps = run_of(host, "reject", "Failed")
    # The SDK's error as it sent it, not an engine-made "HTTP400".
    assert run["output"] == serialized("NonRetriableError", "bad input")
    assert [(s["status"], s["attempt"], s["error"]["name"]) for s in steps] == [
        ("Retrying", 0, "Error"),
        ("Failed", 1, "NonRetriableError"),
    ]
    failure = wait_for(lambda: box["failures"][-1], timeout=10)
    assert failure["run_id"] == run["run_id"]
    assert failure["error"] == {
        "error": "NonRetriableError",
        "name": "NonRetriableError",
        "message": "bad input",
        "stack": serialized("NonRetriableError", "bad input")["stack"],
    }


def test_the_request_version_follows_the_sdk(setup: tuple[Host, dict[str, Any]]) -> None:
    host, box = setup
    run_of(host, "sleep-name", "Completed")
    versions = [v for s, _, _, v in box["calls"] if s == "sleep-name"][-2:]
    # -1 on a run's first call (the SDK decides), then what it answered: 2.
    assert versions == [-1, 2]


def test_a_reply_of_defers_only_calls_the_app_again_once_they_are_kept(
    setup: tuple[Host, dict[str, Any]],
) -> None:
    host, box = setup
    run, steps = run_of(host, "lazy-only", "Completed")
    print([(s["name"], s["op"], s["status"]) for s in steps])
    assert run["output"] == "done"
    assert [(s["name"], s["op"]) for s in steps] == [("tell", "DeferAdd"), ("function", "RunComplete")]
    with host.rest() as rest:
        events = rest.get("/v1/events", params={"name": "inngest/deferred.schedule"}).json()["data"]
    assert [e["data"]["n"] for e in events if e["data"]["_inngest"]["parent_run_id"] == run["run_id"]] == [1]


def test_a_reply_of_defers_that_change_nothing_fails_the_run(setup: tuple[Host, dict[str, Any]]) -> None:
    host, box = setup
    run, _ = run_of(host, "lazy-only-forever", "Failed")
    print(run["output"])
    assert run["output"]["name"] == "Unsupported" and "defer opcodes only" in run["output"]["message"]
    assert len([c for c in box["calls"] if c[0] == "lazy-only-forever"]) == 1  # called once, not in a loop
