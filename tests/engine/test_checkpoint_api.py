"""The checkpoint API over HTTP (engine/http/checkpoint.py, run/checkpoint.py), with the bodies the
TypeScript SDK 4.x sends: what each call does to a run, and how a bad one is refused.

The SDK itself drives these routes in test_ts4_checkpoint.py and test_ts4_endpoints.py; here
each rule is checked on its own, including those the SDK never breaks (bad ids, opcodes a
running call may not checkpoint, a missing key in signed mode).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from learninngest.engine.ids import UlidFactory
from tests.engine.harness import TEST_SIGNING_KEY, Host, local_engine
from tests.support import wait_for

ORIGIN = "http://127.0.0.1:9"  # never called: these runs end in their checkpoints


def http_event(path: str = "/api/orders", method: str = "POST") -> dict[str, Any]:
    return {
        "name": "inngest/http.request",
        "data": {
            "content_type": "application/json",
            "domain": ORIGIN,
            "ip": "",
            "method": method,
            "path": path,
            "query_params": "",
            "body": '{"qty": 2}',
            "fn": "",
        },
    }


def step_run(name: str, data: Any) -> dict[str, Any]:
    return {"op": "StepRun", "id": uuid.uuid4().hex, "name": name, "displayName": name, "data": data}


def run_complete(status: int, body: str) -> dict[str, Any]:
    return {"op": "RunComplete", "id": "complete", "data": {"status": status, "headers": {}, "body": body}}


@pytest.fixture
def host() -> Iterator[Host]:
    with local_engine() as h:
        yield h


def new_run(rest: httpx.Client, steps: list[dict[str, Any]] | None = None, **event: Any) -> dict[str, Any]:
    resp = rest.post(
        "/v1/checkpoint",
        json={
            "run_id": UlidFactory().new(),
            "event": http_event(**event),
            "steps": steps or [],
            "retries": 3,
        },
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["data"])


def ops(rest: httpx.Client, run_id: str) -> list[tuple[str, str, str]]:
    steps = rest.get(f"/v1/runs/{run_id}/steps").json()["data"]
    return [(s["name"], s["op"], s["status"]) for s in steps]


def test_a_first_checkpoint_creates_the_endpoints_run_and_function(host: Host) -> None:
    with host.rest() as rest:
        data = new_run(rest)
        assert set(data) == {"run_id", "fn_id", "app_id", "realtime_token"}  # token: only with steps
        run = rest.get(f"/v1/runs/{data['run_id']}").json()["data"]
        assert (run["status"], run["function_slug"], run["function_id"]) == (
            "Running",
            "POST /api/orders",
            data["fn_id"],
        )
        event = rest.get(f"/v1/events/{run['event_id']}").json()["data"]
        assert event["name"] == "inngest/http.request" and event["data"]["body"] == '{"qty": 2}'
        (app,) = [a for a in rest.get("/v1/apps").json()["data"]["apps"] if a["app_id"] == ORIGIN]
        assert (app["id"], app["framework"]) == (data["app_id"], "durable-endpoint")
        again = rest.post("/v1/checkpoint", json={"run_id": data["run_id"], "event": http_event()})
        assert again.status_code == 409 and again.json()["error"] == "Run already exists"


def test_steps_then_the_response_complete_the_run_with_its_body(host: Host) -> None:
    with host.rest() as rest:
        data = new_run(rest, [step_run("reserve", {"held": 2})])
        assert data["token"]
        run_id = data["run_id"]
        steps = [step_run("charge", "ok"), run_complete(201, '{"order": 7}')]
        assert (
            rest.post(f"/v1/checkpoint/{run_id}/steps", json={"run_id": run_id, "steps": steps}).status_code
            == 200
        )
        run = rest.get(f"/v1/runs/{run_id}").json()["data"]
        assert (run["status"], run["output"]) == ("Completed", {"order": 7})
        assert ops(rest, run_id) == [
            ("reserve", "StepRun", "Completed"),
            ("charge", "StepRun", "Completed"),
            ("function", "RunComplete", "Completed"),
        ]
        out = httpx.get(f"{host.url}/v1/http/runs/{run_id}/output", params={"token": data["token"]})
        assert (out.status_code, out.json()) == (200, {"order": 7})
        wrong = httpx.get(f"{host.url}/v1/checkpoint/{run_id}/output", params={"token": "x"})
        assert wrong.status_code == 401


def test_a_5xx_response_fails_the_run(host: Host) -> None:
    with host.rest() as rest:
        run_id = new_run(rest, [run_complete(502, "bad gateway")])["run_id"]
        run = rest.get(f"/v1/runs/{run_id}").json()["data"]
        assert run["status"] == "Failed" and run["output"]["message"] == "invalid status code: 502"


def test_a_running_call_checkpoints_steps_it_ran_and_nothing_else(host: Host) -> None:
    with host.rest() as rest:
        data = new_run(rest)
        run_id, path = data["run_id"], f"/v1/checkpoint/{data['run_id']}/async"
        ran = step_run("fetch", [1, 2])
        planned = {"op": "StepPlanned", "id": "p", "name": "next"}
        ok = rest.post(
            path, json={"run_id": run_id, "fn_id": data["fn_id"], "qi_id": run_id, "steps": [ran, planned]}
        )
        assert ok.status_code == 200, ok.text
        assert rest.get(f"/v0/runs/{run_id}/actions").json() == {ran["id"]: {"data": [1, 2]}}
        assert ops(rest, run_id) == [("fetch", "StepRun", "Completed")]  # planned: nothing kept

        sleep = {"op": "Sleep", "id": "s", "name": "10s"}
        refused = rest.post(path, json={"run_id": run_id, "steps": [sleep]})
        assert refused.status_code == 400 and "cannot checkpoint opcode Sleep" in refused.json()["error"]
        other_fn = rest.post(path, json={"run_id": run_id, "fn_id": str(uuid.uuid4()), "steps": [ran]})
        assert other_fn.status_code == 400 and "is not the function of run" in other_fn.json()["error"]
        unknown = rest.post(f"/v1/checkpoint/{UlidFactory().new()}/async", json={"steps": [ran]})
        assert unknown.status_code == 404
        assert rest.post("/v1/checkpoint/nope/async", json={"steps": []}).status_code == 400

        rest.post(f"/v1/checkpoint/{run_id}/steps", json={"steps": [run_complete(200, "null")]})
        late = rest.post(path, json={"run_id": run_id, "steps": [step_run("late", 1)]})
        assert late.status_code == 400 and "already ended" in late.json()["error"]


def test_a_checkpoint_is_fenced_by_its_calls_generation() -> None:
    """With dispatch validation on (the Dev Server's EXPERIMENTAL_ASYNC_DISPATCH_VALIDATION):
    no call of this run is in flight (an endpoint's run), so a generation is stale unless the
    SDK began its call less than 10 s ago, as the real server skips the check then; without a
    generation (older SDKs, connect workers) there is nothing to check."""
    with local_engine(dispatch_validation=True) as host, host.rest() as rest:
        data = new_run(rest)
        run_id, path = data["run_id"], f"/v1/checkpoint/{data['run_id']}/async"
        body = {"run_id": run_id, "fn_id": data["fn_id"], "qi_id": run_id, "generation_id": 7}
        old = int(time.time() * 1000) - 60_000
        stale = rest.post(path, json=body | {"steps": [step_run("x", 1)], "request_started_at": old})
        assert stale.status_code == 409
        assert stale.json()["error"].startswith("stale dispatch: no call of run")
        huge = rest.post(path, json=body | {"steps": [step_run("x", 1)], "request_started_at": 10**400})
        assert huge.status_code == 409  # a stamp no clock can hold does not skip the check
        assert ops(rest, run_id) == []  # nothing kept
        fresh = {"steps": [step_run("y", 2)], "request_started_at": int(time.time() * 1000)}
        assert rest.post(path, json=body | fresh).status_code == 200
        unversioned = {k: v for k, v in body.items() if k != "generation_id"}
        assert rest.post(path, json=unversioned | {"steps": [step_run("z", 3)]}).status_code == 200
        assert ops(rest, run_id) == [("y", "StepRun", "Completed"), ("z", "StepRun", "Completed")]
        unknown = rest.post(f"/v1/checkpoint/{UlidFactory().new()}/async", json=body | {"steps": []})
        assert unknown.status_code == 404  # the run is looked up first, as on the server


def test_without_dispatch_validation_a_late_checkpoint_is_kept(host: Host) -> None:
    """The Dev Server's default: generations are sent but not checked."""
    with host.rest() as rest:
        data = new_run(rest)
        path = f"/v1/checkpoint/{data['run_id']}/async"
        old = int(time.time() * 1000) - 60_000
        late = {"steps": [step_run("x", 1)], "generation_id": 7, "request_started_at": old}
        assert rest.post(path, json=late).status_code == 200
        assert ops(rest, data["run_id"]) == [("x", "StepRun", "Completed")]


def test_the_endpoints_realtime_token_follows_its_teed_stream_over_sse(host: Host) -> None:
    """A durable endpoint's `realtime_token` subscribes to its run's `$stream` (the server's
    JWT), and what the endpoint tees reaches an SSE subscriber as it was written: the SDK
    tees its own server-sent events, which its caller reads on after the redirect."""
    with host.rest() as rest:
        data = new_run(rest)
        run_id, jwt = data["run_id"], data["realtime_token"]
        with httpx.stream("GET", f"{host.url}/v1/realtime/sse", params={"token": jwt}, timeout=30) as sse:
            assert sse.status_code == 200
            assert sse.headers["access-control-allow-origin"] == "*"  # a browser follows the redirect
            lines = sse.iter_lines()
            assert next(lines) == ":"  # subscribed
            teed = b'event: inngest.stream\ndata: {"n": 1}\n\n'
            assert rest.post(f"/v1/realtime/publish/tee?channel={run_id}", content=teed).status_code == 200
            got = list(itertools.islice((line for line in lines if line), 2))
        other = new_run(rest)["realtime_token"]
    print("the subscriber read:", got)
    assert got == ["event: inngest.stream", 'data: {"n": 1}']  # as written, not inside a data: event
    assert other != jwt


def test_bad_first_checkpoints_are_refused_with_a_reason(host: Host) -> None:
    with host.rest() as rest:
        bad_id = rest.post("/v1/checkpoint", json={"run_id": "nope", "event": http_event()})
        assert bad_id.status_code == 400 and "ULID" in bad_id.json()["error"]
        no_origin = http_event()
        no_origin["data"]["domain"] = ""
        resp = rest.post("/v1/checkpoint", json={"run_id": UlidFactory().new(), "event": no_origin})
        assert resp.status_code == 400 and "origin" in resp.json()["error"]
        not_list = rest.post(
            "/v1/checkpoint", json={"run_id": UlidFactory().new(), "event": http_event(), "steps": {}}
        )
        assert not_list.status_code == 400
        assert rest.post("/v1/checkpoint", content=b"[1]").status_code == 400


def test_signed_mode_needs_the_signing_key() -> None:
    with local_engine(signing_key=TEST_SIGNING_KEY) as signed:
        body = {"run_id": UlidFactory().new(), "event": http_event()}
        assert httpx.post(f"{signed.url}/v1/checkpoint", json=body).status_code == 401
        with signed.rest() as rest:
            assert rest.post("/v1/checkpoint", json=body).status_code == 200


def test_an_endpoints_function_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "engine.db")
    with local_engine(db_path=db) as first, first.rest() as rest:
        fn_id = new_run(rest, path="/api/kept")["fn_id"]
    with local_engine(db_path=db) as second, second.rest() as rest:
        (app,) = [a for a in rest.get("/v1/apps").json()["data"]["apps"] if a["app_id"] == ORIGIN]
        assert [f["slug"] for f in app["functions"]] == ["POST /api/kept"]
        assert new_run(rest, path="/api/kept")["fn_id"] == fn_id


def test_a_retried_step_error_moves_the_run_to_the_background() -> None:
    # A paused clock: the retry (a call of the origin) waits until the test is done looking.
    with local_engine(paused=True) as host, host.rest() as rest:
        run_id = new_run(rest)["run_id"]
        error = {
            "op": "StepError",
            "id": "e",
            "name": "charge",
            "error": {"name": "Error", "message": "declined"},
        }
        assert rest.post(f"/v1/checkpoint/{run_id}/steps", json={"steps": [error]}).status_code == 200

        def retrying() -> None:
            assert ("charge", "StepError", "Retrying") in ops(rest, run_id)

        wait_for(retrying, timeout=10)
        run = rest.get(f"/v1/runs/{run_id}").json()["data"]
        assert run["status"] == "Running"  # the engine calls the endpoint back after the backoff


def test_an_endpoints_run_shows_in_graphql_and_the_dashboard(host: Host) -> None:
    with host.rest() as rest:
        run_id = new_run(rest, [step_run("reserve", 1), run_complete(200, '{"order": 8}')])["run_id"]
    query = "query($id: String!) { run(runID: $id) { status output } runTrigger(runID: $id) { eventName } }"
    resp = httpx.post(f"{host.url}/v0/gql", json={"query": query, "variables": {"id": run_id}})
    assert resp.status_code == 200 and "errors" not in resp.json(), resp.text
    data = resp.json()["data"]
    assert data["run"]["status"] == "COMPLETED" and data["runTrigger"]["eventName"] == "inngest/http.request"
    page = httpx.get(f"{host.url}/runs/{run_id}")
    assert page.status_code == 200 and "POST /api/orders" in page.text
    assert httpx.get(f"{host.url}/").status_code == 200
