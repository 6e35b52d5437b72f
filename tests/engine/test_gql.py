"""POST /v0/gql against a running engine with functions served by inngest-py (engine/gql.py)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import httpx
import inngest
import pytest

from tests.engine.harness import TEST_SIGNING_KEY, CaseContext, local_engine, served
from tests.support import wait_for

# The query texts of inngest-py's test helper (pkg/test_core/test_core/helper.py), verbatim
# in shape: SDK test suites poll the Dev Server with exactly these.
HELPER_RUN_IDS = """
        query GetRunFromEventID($event_id: ID!) {
            event(query: {eventId: $event_id}) {
                functionRuns {
                    id
                }
            }
        }
        """
HELPER_RUN_STATUS = """
        query GetRun($run_id: String!) {
            run(runID: $run_id) {
                output
                status
            }
            runTrigger(runID: $run_id) {
                payloads
            }
        }
        """
HELPER_STEPS = """
        query GetHistory($run_id: String!) {
            run(runID: $run_id) {
                trace {
                    childrenSpans {
                        name
                        outputID
                    }
                }
            }
        }
        """
HELPER_STEP_OUTPUT = """
        query GetHistory($output_id: String!) {
            runTraceSpanOutputByID(outputID: $output_id) {
                data
                error {
                    message
                    name
                    stack
                }
            }
        }
        """


def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="steps", trigger=inngest.TriggerEvent(event="gql/steps"), retries=0)
    async def steps(ctx: inngest.Context) -> dict[str, Any]:
        async def double() -> int:
            return int(ctx.event.data["n"]) * 2

        doubled = await ctx.step.run("double", double)
        await ctx.step.sleep("nap", datetime.timedelta(seconds=1))
        return {"doubled": doubled}

    @client.create_function(fn_id="fails", trigger=inngest.TriggerEvent(event="gql/fails"), retries=0)
    async def fails(ctx: inngest.Context) -> None:
        async def boom() -> None:
            raise ValueError("no luck")

        await ctx.step.run("boom", boom)

    @client.create_function(fn_id="sleeper", trigger=inngest.TriggerEvent(event="gql/sleeper"))
    async def sleeper(ctx: inngest.Context) -> None:
        await ctx.step.sleep("long", datetime.timedelta(days=1))

    return [steps, fails, sleeper]


@pytest.fixture
def ctx() -> Iterator[CaseContext]:
    with local_engine() as host, served(host, "gql-app", make_functions) as context:
        yield context


def post(ctx: CaseContext, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(f"{ctx.host.url}/v0/gql", json={"query": query, "variables": variables}, timeout=10)


def data(ctx: CaseContext, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    resp = post(ctx, query, variables)
    body = resp.json()
    assert resp.status_code == 200 and "errors" not in body, body
    return dict(body["data"])


def run_ids(ctx: CaseContext, event_id: str) -> list[str]:
    def check() -> list[str]:
        runs = data(ctx, HELPER_RUN_IDS, {"event_id": event_id})["event"]["functionRuns"]
        assert len(runs) == 1, runs
        return [r["id"] for r in runs]

    return wait_for(check, timeout=15)


def wait_status(ctx: CaseContext, run_id: str, status: str) -> dict[str, Any]:
    def check() -> dict[str, Any]:
        got = data(ctx, HELPER_RUN_STATUS, {"run_id": run_id})
        assert got["run"]["status"] == status, got
        return got

    return wait_for(check, timeout=15)


def step_output(ctx: CaseContext, run_id: str, step: str) -> dict[str, Any]:
    spans = data(ctx, HELPER_STEPS, {"run_id": run_id})["run"]["trace"]["childrenSpans"]
    output_id = next(s["outputID"] for s in spans if s["name"] == step)
    return dict(data(ctx, HELPER_STEP_OUTPUT, {"output_id": output_id})["runTraceSpanOutputByID"])


def test_inngest_py_helper_queries_on_a_completed_run(ctx: CaseContext) -> None:
    event_id = ctx.send("gql/steps", {"n": 21})
    [run_id] = run_ids(ctx, event_id)
    got = wait_status(ctx, run_id, "COMPLETED")
    assert json.loads(got["run"]["output"]) == {"doubled": 42}
    # The helper rebuilds the event from the payload with inngest.Event.model_validate_json.
    event = inngest.Event.model_validate_json(got["runTrigger"]["payloads"][0])
    assert event.name == "gql/steps" and event.data == {"n": 21}
    out = step_output(ctx, run_id, "double")
    assert json.loads(out["data"]) == 42 and out["error"] is None


def test_trace_spans_with_ops_statuses_and_the_run_output(ctx: CaseContext) -> None:
    event_id = ctx.send("gql/steps", {"n": 1})
    [run_id] = run_ids(ctx, event_id)
    wait_status(ctx, run_id, "COMPLETED")
    query = """query ($id: String!) { runTrace(runID: $id) {
        name status isRoot outputID runID
        childrenSpans { name status stepOp attempts isRoot parentSpanID outputID } } }"""
    trace = data(ctx, query, {"id": run_id})["runTrace"]
    assert trace["isRoot"] and trace["status"] == "COMPLETED" and trace["runID"] == run_id
    spans = [(s["name"], s["status"], s["stepOp"], s["attempts"]) for s in trace["childrenSpans"]]
    assert spans == [("double", "COMPLETED", "RUN", 1), ("nap", "COMPLETED", "SLEEP", 1)]
    out = data(ctx, HELPER_STEP_OUTPUT, {"output_id": trace["outputID"]})["runTraceSpanOutputByID"]
    assert json.loads(out["data"]) == {"doubled": 2}


def test_failed_run_and_its_step_error(ctx: CaseContext) -> None:
    event_id = ctx.send("gql/fails")
    [run_id] = run_ids(ctx, event_id)
    wait_status(ctx, run_id, "FAILED")
    out = step_output(ctx, run_id, "boom")
    assert out["data"] is None
    assert out["error"]["name"] == "ValueError" and out["error"]["message"] == "no luck"
    event = data(
        ctx, "query ($id: ID!) { event(query: {eventId: $id}) { status totalRuns } }", {"id": event_id}
    )
    assert event["event"] == {"status": "FAILED", "totalRuns": 1}


# inngest-js's test helper (fetchEvent) asks for an event this way.
JS_HELPER_EVENT = """query Event($id: ULID!) {
          eventV2(id: $id) {
            idempotencyKey
            name
            raw
          }
        }"""


def test_inngest_js_helper_event_query(ctx: CaseContext) -> None:
    event_id = ctx.send("gql/steps", {"n": 2}, id="order-7")
    body = {"query": JS_HELPER_EVENT, "variables": {"id": event_id}, "operationName": "Event"}
    got = httpx.post(f"{ctx.host.url}/v0/gql", json=body).json()["data"]["eventV2"]
    assert got["name"] == "gql/steps" and got["idempotencyKey"] == "order-7"
    assert json.loads(got["raw"])["data"] == {"n": 2}
    [run_id] = run_ids(ctx, event_id)
    runs = data(ctx, "query ($id: ULID!) { eventV2(id: $id) { runs { id status } } }", {"id": event_id})
    assert runs["eventV2"]["runs"][0]["id"] == run_id
    missing = post(ctx, JS_HELPER_EVENT, {"id": "01JABCDEFGHJKMNPQRSTVWXYZ0"})
    assert missing.status_code == 200 and "not found" in missing.json()["errors"][0]["message"]


def test_running_waiting_then_cancelled(ctx: CaseContext) -> None:
    event_id = ctx.send("gql/sleeper")
    [run_id] = run_ids(ctx, event_id)
    query = """query ($id: ID!) { functionRun(query: {functionRunId: $id}) {
        id status eventID finishedAt output function { slug name } } }"""

    def sleeping() -> None:
        trace = data(ctx, "query ($id: String!) { runTrace(runID: $id) { childrenSpans { name status } } }",
                     {"id": run_id})["runTrace"]  # fmt: skip
        assert trace["childrenSpans"] == [{"name": "long", "status": "WAITING"}]

    wait_for(sleeping, timeout=15)
    run = data(ctx, query, {"id": run_id})["functionRun"]
    assert run["status"] == "RUNNING" and run["eventID"] == event_id and run["output"] is None
    assert run["function"]["slug"] == "gql-app-sleeper"
    assert httpx.delete(f"{ctx.host.url}/v1/runs/{run_id}").status_code == 200
    wait_status(ctx, run_id, "CANCELLED")


def test_unknown_field_is_a_graphql_error_not_a_500(ctx: CaseContext) -> None:
    resp = post(ctx, '{ run(runID: "x") { status nonsense } }')
    body = resp.json()
    # The Dev Server's gqlgen answers an invalid query with 422 and `errors`.
    assert resp.status_code == 422 and body["data"] is None
    assert "Cannot query field 'nonsense'" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert post(ctx, "{ run(").status_code == 422


def test_unknown_ids_answer_null_or_an_error_with_200(ctx: CaseContext) -> None:
    missing = "01JABCDEFGHJKMNPQRSTVWXYZ0"
    assert data(ctx, "query ($id: String!) { run(runID: $id) { id } }", {"id": missing}) == {"run": None}
    assert data(ctx, "query ($id: ID!) { event(query: {eventId: $id}) { id } }", {"id": "nope"}) == {
        "event": None
    }
    resp = post(ctx, "query ($id: String!) { runTrace(runID: $id) { name } }", {"id": missing})
    assert resp.status_code == 200 and f"run {missing} not found" in resp.json()["errors"][0]["message"]


def test_a_body_that_is_not_a_query_is_400(ctx: CaseContext) -> None:
    resp = httpx.post(f"{ctx.host.url}/v0/gql", content=b"not json")
    assert resp.status_code == 400 and "query" in resp.json()["errors"][0]["message"]


def test_signed_engine_wants_the_key() -> None:
    with local_engine(signing_key=TEST_SIGNING_KEY) as host:
        body = {"query": '{ run(runID: "01JABCDEFGHJKMNPQRSTVWXYZ0") { id } }'}
        assert httpx.post(f"{host.url}/v0/gql", json=body).status_code == 401
        resp = httpx.post(
            f"{host.url}/v0/gql", json=body, headers={"authorization": f"Bearer {TEST_SIGNING_KEY}"}
        )
        assert resp.status_code == 200 and resp.json() == {"data": {"run": None}}
