"""Flow control seen through POST /v0/gql: queued (throttled) runs, skipped singleton runs."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import httpx
import inngest

from tests.engine.harness import local_engine, served
from tests.engine.test_gql import HELPER_RUN_STATUS
from tests.support import wait_for

RUN_IDS = "query($e: ID!) { event(query: {eventId: $e}) { functionRuns { id status } } }"


def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["release"] = threading.Event()  # set by the test, from its own thread

    @client.create_function(
        fn_id="one",
        singleton=inngest.Singleton(mode="skip"),
        # A day per start (864 s real at the tests' scale): the second run stays queued.
        throttle=inngest.Throttle(limit=1, period=datetime.timedelta(days=1), burst=0),
        trigger=inngest.TriggerEvent(event="gql-flow/go"),
    )
    async def one(ctx: inngest.Context) -> str:
        await ctx.step.wait_for_event("hold", event="gql-flow/release", timeout=datetime.timedelta(hours=1))
        return "done"

    return [one]


def gql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = httpx.post(f"{url}/v0/gql", json={"query": query, "variables": variables}, timeout=10).json()
    assert "errors" not in body, body
    return dict(body["data"])


def test_skipped_runs_are_cancelled_and_flow_rows_are_not_calls() -> None:
    with local_engine() as host, served(host, "gql-flow", make_functions) as ctx:
        first = ctx.send("gql-flow/go")
        ctx.wait_run(first, "Running")
        skipped = ctx.send("gql-flow/go")  # singleton: the first run is active
        # As on the server, the skipped event has no function run (only the engine's flow log
        # and dashboard keep the Skipped run; its status reads CANCELLED: the enum has no SKIPPED).
        (decided,) = wait_for(lambda: _decided(ctx, skipped))
        assert gql(host.url, RUN_IDS, {"e": skipped})["event"]["functionRuns"] == []
        status = gql(host.url, HELPER_RUN_STATUS, {"run_id": decided["run_id"]})["run"]["status"]
        assert status == "CANCELLED"

        ctx.send("gql-flow/release")
        ctx.wait_run(first, "Completed")
        queued = ctx.send("gql-flow/go")  # no run active now, but the throttle allows one a day
        run_id = wait_for(lambda: _throttled(ctx, queued))
        status = gql(host.url, HELPER_RUN_STATUS, {"run_id": run_id})["run"]["status"]
        assert status == "QUEUED"  # its Throttle row is a wait, not a call


def _decided(ctx: Any, event_id: str) -> list[dict[str, Any]]:
    rows = [r for r in ctx.flow(event_id) if r["decision"] == "skipped"]
    assert rows, ctx.flow(event_id)
    return list(rows)


def _throttled(ctx: Any, event_id: str) -> str:
    (run,) = ctx.runs(event_id)
    assert any(s["op"] == "Throttle" for s in ctx.steps(run["run_id"]))
    return str(run["run_id"])
