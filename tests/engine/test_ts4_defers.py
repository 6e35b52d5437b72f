"""defer() with a real TypeScript SDK 4.x app (tests/engine/ts_app4/features/defers.js).

A handler's `defer(id, { function, data })` ships a DeferAdd opcode with its next reply or
checkpoint; the engine keeps it with the run and, once the run has ended (completed, failed or
cancelled), sends `inngest/deferred.schedule`, which starts the companion function. The app
notes what each deferred run received (`seen.deferred`): its data and its parent run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from learninngest.engine.run import defers
from learninngest.engine.wire.protocol import hash_step_id
from tests.engine.harness import local_engine
from tests.engine.ts4_app import Ts4App, started
from tests.support import wait_for


@pytest.fixture(scope="module")
def app() -> Iterator[Ts4App]:
    with local_engine(paused=True) as host, started(host) as ts:
        yield ts


def deferred_for(app: Ts4App, tag: str, count: int) -> list[dict[str, Any]]:
    """What the follow-up runs started for `tag` received, once there are `count` of them."""

    def arrived() -> list[dict[str, Any]]:
        got = [d for d in app.seen()["deferred"] if d["data"].get("tag") == tag]
        assert len(got) == count, app.seen()["deferred"]
        return got

    return list(wait_for(arrived, timeout=30))


def events_named(app: Ts4App, name: str) -> list[dict[str, Any]]:
    """The engine's last 100 events named `name` (GET /v1/events)."""
    with app.host.rest() as rest:
        return list(rest.get("/v1/events", params={"name": name, "limit": 100}).json()["data"])


def schedule_event(app: Ts4App, parent_run_id: str, defer_id: str) -> dict[str, Any]:
    listed = events_named(app, defers.SCHEDULE_EVENT)
    (event,) = [e for e in listed if e["id"] == defers.event_id(parent_run_id, hash_step_id(defer_id))]
    return dict(event)


def test_a_defer_starts_its_function_once_the_run_has_completed(app: Ts4App) -> None:
    tag = uuid.uuid4().hex[:8]
    run = app.wait_run(app.send("ts4/defer-parent", {"n": 21, "tag": tag}), "Completed")
    print("parent:", run["output"], app.rows(run["run_id"]))
    assert run["output"] == {"doubled": 42}
    (got,) = deferred_for(app, tag, 1)
    print("the deferred run received:", got)
    # The data as the parent gave it (the engine's `_inngest` taken off by the SDK), and its parent.
    assert got["data"] == {"doubled": 42, "tag": tag}
    assert got["parent"] == {"fnSlug": "ts-app4-defer-parent", "runId": run["run_id"]}
    # The parent's timeline shows the defer beside its step; the step is the only memoized one.
    rows = app.rows(run["run_id"])
    assert ("tell", "DeferAdd", "Completed") in rows and ("double", "StepRun", "Completed") in rows
    # GraphQL's trace shows the defer as a span of the run (the server: an executor.defer span).
    query = "query ($id: String!) { runTrace(runID: $id) { childrenSpans { name status } } }"
    with app.host.rest() as rest:
        answer = rest.post("/v0/gql", json={"query": query, "variables": {"id": run["run_id"]}}).json()
    assert "errors" not in answer, answer
    assert {"name": "tell", "status": "COMPLETED"} in answer["data"]["runTrace"]["childrenSpans"]
    event = schedule_event(app, run["run_id"], "tell")
    assert event["data"]["_inngest"]["fn_slug"] == "ts-app4-follow-up"
    assert event["data"]["_inngest"]["parent_fn_slug"] == "ts-app4-defer-parent"
    # The event started the follow-up, which completed with the data it received.
    with app.host.rest() as rest:
        (child,) = rest.get(f"/v1/events/{event['internal_id']}/runs").json()["data"]
    print("the follow-up's run:", child)
    assert app.wait_status(child["run_id"], "Completed")["output"] == {"data": {"doubled": 42, "tag": tag}}


def test_an_aborted_defer_starts_nothing(app: Ts4App) -> None:
    tag = uuid.uuid4().hex[:8]
    run = app.wait_run(app.send("ts4/defer-aborts", {"tag": tag}), "Completed")
    rows = app.rows(run["run_id"])
    print("timeline:", rows)
    assert ("dropped", "DeferAbort", "Cancelled") in rows
    (got,) = deferred_for(app, tag, 1)
    assert got["data"] == {"which": "kept", "tag": tag}
    listed = events_named(app, defers.SCHEDULE_EVENT)
    mine = [e["data"]["which"] for e in listed if e["data"].get("tag") == tag]
    assert mine == ["kept"]


def test_a_run_that_fails_still_starts_its_defers(app: Ts4App) -> None:
    tag = uuid.uuid4().hex[:8]
    run = app.wait_run(app.send("ts4/defer-fails", {"tag": tag}), "Failed")
    print("failed with:", run["output"])
    assert run["output"]["message"] == f"gave up on {tag}"
    (got,) = deferred_for(app, tag, 1)
    assert got["data"] == {"which": "cleanup", "tag": tag}
    assert got["parent"]["runId"] == run["run_id"]


def test_a_retried_run_sends_its_defer_once_and_starts_it_once(app: Ts4App) -> None:
    """Checkpointed (the 4.x default): the defer goes to the engine with the call's checkpoint,
    then the error as a plain 500; the retry's call lists the defer, so the SDK does not send
    it again."""
    tag = uuid.uuid4().hex[:8]
    event_id = app.send("ts4/defer-retried", {"tag": tag})
    run_id = app.run_showing(event_id, ("function", "Call", "Retrying"))
    app.advance(60)  # the engine's paused clock past the retry's backoff
    run = app.wait_status(run_id, "Failed")
    rows = app.rows(run["run_id"])
    print("timeline:", rows, "output:", run["output"]["message"])
    assert run["output"]["message"] == f"attempt 1 of {tag} failed"
    assert rows.count(("function", "Call", "Retrying")) == 1
    assert rows.count(("once", "DeferAdd", "Completed")) == 1
    assert app.seen()["bodyDefers"]["ts-app4-defer-retried"][-2:] == [[], [hash_step_id("once")]]
    (got,) = deferred_for(app, tag, 1)
    assert got["data"] == {"which": "once", "tag": tag}


def failure_event(app: Ts4App, run_id: str) -> dict[str, Any]:
    """The run's inngest/function.failed event's data."""

    def found() -> dict[str, Any]:
        failed = events_named(app, "inngest/function.failed")
        (data,) = [e["data"] for e in failed if e["data"]["run_id"] == run_id]
        return dict(data)

    return dict(wait_for(found, timeout=30))


def test_an_error_shipped_with_a_defer_is_the_functions_and_is_retried(app: Ts4App) -> None:
    """Without checkpointing the SDK ships the defer with the function's error, as an opcode
    ([DeferAdd, StepError "complete"]): the same retry as the plain 500 it replaces."""
    tag = uuid.uuid4().hex[:8]
    run_id = app.run_showing(
        app.send("ts4/defer-errs-unchecked", {"tag": tag}), ("function", "Call", "Retrying")
    )
    app.advance(60)
    run = app.wait_status(run_id, "Failed")
    rows = app.rows(run_id)
    print("timeline:", rows, "output:", run["output"]["message"])
    assert rows == [
        ("on-error", "DeferAdd", "Completed"),
        ("function", "Call", "Retrying"),
        ("function", "Call", "Failed"),
    ]
    assert run["output"]["message"] == f"attempt 1 of {tag} failed"
    assert app.seen()["bodyDefers"]["ts-app4-defer-errs-unchecked"][-2:] == [[], [hash_step_id("on-error")]]
    (got,) = deferred_for(app, tag, 1)
    assert got["data"] == {"which": "on-error", "tag": tag}


def test_a_non_retriable_error_shipped_with_a_defer_fails_as_without_one(app: Ts4App) -> None:
    tag = uuid.uuid4().hex[:8]
    event_id = app.send("ts4/defer-errs-unchecked", {"tag": tag, "fatal": True})
    run = app.wait_run(event_id, "Failed")
    print("timeline:", app.rows(run["run_id"]))
    assert app.rows(run["run_id"]) == [("on-error", "DeferAdd", "Completed"), ("function", "Call", "Failed")]
    assert run["output"]["name"] == "NonRetriableError" and run["output"]["message"] == f"fatal {tag}"
    # inngest/function.failed names it as it does a plain NonRetriableError (its 400).
    assert failure_event(app, run["run_id"])["error"]["error"] == "NonRetriableError"
    deferred_for(app, tag, 1)


def test_a_step_named_complete_keeps_its_own_error(app: Ts4App) -> None:
    tag = uuid.uuid4().hex[:8]
    run = app.wait_run(app.send("ts4/defer-step-complete", {"tag": tag}), "Completed")
    print("timeline:", app.rows(run["run_id"]), "output:", run["output"])
    assert run["output"] == "caught: the step failed"  # the step's error, memoized and caught
    assert ("complete", "StepFailed", "Failed") in app.rows(run["run_id"])
    deferred_for(app, tag, 1)


def test_a_cancelled_run_starts_its_defers(app: Ts4App) -> None:
    tag = uuid.uuid4().hex[:8]
    run_id = app.run_showing(app.send("ts4/defer-sleeps", {"tag": tag}), ("long", "Sleep", "Sleeping"))
    assert not [d for d in app.seen()["deferred"] if d["data"].get("tag") == tag]  # not before the end
    with app.host.rest() as rest:
        assert rest.delete(f"/v1/runs/{run_id}").status_code == 200
    app.wait_status(run_id, "Cancelled")
    (got,) = deferred_for(app, tag, 1)
    assert got["data"] == {"which": "after-cancel", "tag": tag}


def test_a_defer_without_data_is_refused_and_the_run_goes_on(app: Ts4App) -> None:
    run = app.wait_run(app.send("ts4/defer-refused"), "Completed")
    steps = app.steps(run["run_id"])
    print("timeline:", [(s["name"], s["op"], s["status"], s.get("error")) for s in steps])
    (row,) = [s for s in steps if s["op"] == "DeferAdd"]
    assert row["status"] == "Failed" and "invalid_input" in row["error"]["message"]
    assert run["output"] == "done"
    listed = events_named(app, defers.SCHEDULE_EVENT)
    assert not [e for e in listed if e["data"]["_inngest"]["parent_run_id"] == run["run_id"]]


RUN_DEFERS = """query ($id: String!) { run(runID: $id) {
  id isDeferred
  defers { hashedDeferID userlandDeferID fnSlug status runID function { slug } run { id status } }
  siblingDefers { userlandDeferID status runID }
  deferredFrom { runID function { slug } run { id status } }
} }"""


def run_defers(app: Ts4App, run_id: str) -> dict[str, Any]:
    with app.host.rest() as rest:
        answer = rest.post("/v0/gql", json={"query": RUN_DEFERS, "variables": {"id": run_id}}).json()
    assert "errors" not in answer, answer
    return dict(answer["data"]["run"])


def test_graphql_links_a_run_its_defers_and_the_runs_they_started(app: Ts4App) -> None:
    """The Dev Server's FunctionRunV2 fields: the parent's `defers` (status, the run each
    started), and on that run `isDeferred`, `deferredFrom` and its `siblingDefers`."""
    tag = uuid.uuid4().hex[:8]
    parent_id = app.wait_run(app.send("ts4/defer-aborts", {"tag": tag}), "Completed")["run_id"]
    deferred_for(app, tag, 1)
    kept_event = schedule_event(app, parent_id, "kept")
    with app.host.rest() as rest:
        (child,) = rest.get(f"/v1/events/{kept_event['internal_id']}/runs").json()["data"]
    app.wait_status(child["run_id"], "Completed")

    parent = run_defers(app, parent_id)
    print("the parent:", parent)
    assert parent["isDeferred"] is False and parent["deferredFrom"] == [] and parent["siblingDefers"] == []
    by_id = {d["userlandDeferID"]: d for d in parent["defers"]}
    assert [d["hashedDeferID"] for d in parent["defers"]] == sorted(by_id[k]["hashedDeferID"] for k in by_id)
    assert by_id["kept"] == {
        "hashedDeferID": hash_step_id("kept"),
        "userlandDeferID": "kept",
        "fnSlug": "ts-app4-follow-up",
        "status": "SCHEDULED",
        "runID": child["run_id"],
        "function": {"slug": "ts-app4-follow-up"},
        "run": {"id": child["run_id"], "status": "COMPLETED"},
    }
    assert by_id["dropped"]["status"] == "ABORTED" and by_id["dropped"]["runID"] is None
    assert by_id["dropped"]["run"] is None

    started = run_defers(app, child["run_id"])
    print("the run it started:", started)
    assert started["isDeferred"] is True and started["defers"] == []
    assert started["deferredFrom"] == [
        {
            "runID": parent_id,
            "function": {"slug": "ts-app4-defer-aborts"},
            "run": {"id": parent_id, "status": "COMPLETED"},
        }
    ]
    # Its peers: the parent's other defers, not the one that started it.
    assert started["siblingDefers"] == [{"userlandDeferID": "dropped", "status": "ABORTED", "runID": None}]


def test_graphql_shows_a_refused_defer_as_rejected(app: Ts4App) -> None:
    run = app.wait_run(app.send("ts4/defer-refused"), "Completed")
    (defer,) = run_defers(app, run["run_id"])["defers"]
    print("the refused defer:", defer)
    assert defer["status"] == "REJECTED" and defer["runID"] is None and defer["run"] is None
