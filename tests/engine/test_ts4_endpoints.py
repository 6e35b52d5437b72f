"""Durable endpoints with a real TypeScript SDK 4.x app (tests/engine/ts_app4/features/endpoints.js).

`inngest.endpoint()` runs its steps inside its caller's HTTP request and checkpoints them
(POST /v1/checkpoint, then /v1/checkpoint/{run_id}/steps): the engine records a run for each
request, Completed with the endpoint's response body as its output, as on the Dev Server. A
sleep moves the run to the background: the caller is redirected to the engine's run output,
and the engine calls the endpoint back (replaying the request) when the sleep is over.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.engine.harness import local_engine
from tests.engine.ts4_app import Ts4App, follow_streamed_answer, started
from tests.support import wait_for


@pytest.fixture(scope="module")
def app() -> Iterator[Ts4App]:
    with local_engine(paused=True) as host, started(host) as ts:
        yield ts


def run_id_of(location: str) -> str:
    return urlsplit(location).path.split("/")[-2]


def test_an_endpoint_answers_its_caller_and_its_run_completes(app: Ts4App) -> None:
    resp = httpx.get(f"{app.url}/endpoint/hello", params={"name": "ada"}, timeout=30)
    assert resp.status_code == 200, resp.text  # was 500 "Failed to checkpoint new run"
    assert resp.json() == {"greeting": "hello ada", "shout": "HELLO ADA"}

    with app.host.rest() as rest:
        events = rest.get("/v1/events", params={"name": "inngest/http.request"}).json()["data"]
    assert events and events[0]["data"]["path"] == "/endpoint/hello"
    assert events[0]["data"]["query_params"] == "name=ada"
    run = app.wait_run(events[0]["internal_id"], "Completed")
    assert run["function_slug"] == "GET /endpoint/hello"
    assert run["output"] == {"greeting": "hello ada", "shout": "HELLO ADA"}
    assert app.rows(run["run_id"]) == [
        ("greet", "StepRun", "Completed"),
        ("shout", "StepRun", "Completed"),
        ("function", "RunComplete", "Completed"),
    ]
    with app.host.rest() as rest:
        apps = rest.get("/v1/apps").json()["data"]["apps"]
    (endpoint_app,) = [a for a in apps if a["framework"] == "durable-endpoint"]
    assert endpoint_app["app_id"] == app.url
    assert "GET /endpoint/hello" in [f["slug"] for f in endpoint_app["functions"]]


def test_a_sleep_moves_the_run_to_the_background_and_the_output_waits_for_it(app: Ts4App) -> None:
    resp = httpx.get(f"{app.url}/endpoint/nap", params={"who": "ada"}, timeout=30)
    assert resp.status_code == 302, resp.text
    location = resp.headers["location"]
    assert (
        location.startswith(f"{app.host.url}/v1/http/runs/") and parse_qs(urlsplit(location).query)["token"]
    )
    run_id = run_id_of(location)

    def sleeping() -> None:
        assert app.rows(run_id) == [("before", "StepRun", "Completed"), ("nap", "Sleep", "Sleeping")]

    wait_for(sleeping, timeout=30)
    assert app.run(run_id)["status"] == "Running"
    app.advance(10)
    run = app.wait_status(run_id, "Completed")
    assert app.rows(run_id)[-2:] == [
        ("after", "StepRun", "Completed"),
        ("function", "RunComplete", "Completed"),
    ]
    assert app.seen()["notes"]["nap-before"] == 1  # memoized: the call back did not run it again

    out = httpx.get(location, timeout=30)
    assert out.status_code == 200, out.text
    assert out.json() == {"before": "before", "after": "after ada"}
    assert run["output"]["status"] == 200  # the endpoint's response, as the SDK sent it

    bad = httpx.get(location.split("?")[0], params={"token": "nope"}, timeout=10)
    assert bad.status_code == 401


def test_a_streamed_answer_goes_on_over_the_engines_sse_after_the_redirect(app: Ts4App) -> None:
    """The caller asks for `text/event-stream`: the SDK streams the endpoint's progress, and
    when a sleep moves the run to the background it sends `inngest.redirect_info`, the
    engine's /v1/realtime/sse with the run's `realtime_token` (a JWT for its `$stream`). Called
    back after the sleep, the SDK tees the rest of its stream to /v1/realtime/publish/tee; the
    caller, subscribed at that URL, reads it as it was written, the response included."""
    follow_streamed_answer(app, "ana")
