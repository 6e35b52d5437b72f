"""Several pauses of one run (engine timeline): each ends on its own, and all end with the run.

The cases (tests/engine/cases/parallel_two_sleeps.py, parallel_sleep_and_wait.py,
parallel_two_invokes.py, pause_while_paused.py) show the behaviour both hosts share; these
look at the engine's side: REST cancel and `timeouts.finish` close every open pause, one
event ends each wait it matches, an invoke times out beside a sleep.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import inngest
import pytest

from tests.engine.harness import CaseContext, local_engine, served
from tests.support import wait_for

DAY = timedelta(days=1)


def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="held-child", trigger=inngest.TriggerEvent(event="pauses/held-child"))
    async def held_child(ctx: inngest.Context) -> str:
        await ctx.step.wait_for_event("release", event="pauses/release", timeout=DAY)
        return "released"

    async def three(ctx: inngest.Context) -> list[Any]:
        return list(
            await ctx.group.parallel(
                (
                    lambda: ctx.step.sleep("nap", DAY),
                    lambda: ctx.step.wait_for_event("wait", event="pauses/go", timeout=DAY),
                    lambda: ctx.step.invoke("call", function=held_child, data={}),
                )
            )
        )

    @client.create_function(fn_id="three", trigger=inngest.TriggerEvent(event="pauses/three"))
    async def three_pauses(ctx: inngest.Context) -> list[Any]:
        return await three(ctx)

    @client.create_function(
        fn_id="three-in-time",
        timeouts=inngest.Timeouts(finish=timedelta(seconds=30)),
        trigger=inngest.TriggerEvent(event="pauses/three-in-time"),
    )
    async def three_in_time(ctx: inngest.Context) -> list[Any]:
        return await three(ctx)

    @client.create_function(fn_id="same-event", trigger=inngest.TriggerEvent(event="pauses/same-event"))
    async def same_event(ctx: inngest.Context) -> list[Any]:
        def wait(step: str, cond: str | None) -> Any:
            return ctx.step.wait_for_event(step, event="pauses/go-n", if_exp=cond, timeout=DAY)

        got = await ctx.group.parallel(
            (
                lambda: wait("one", "async.data.n == 1"),
                lambda: wait("two", "async.data.n == 2"),
                lambda: wait("any", None),
            )
        )
        return [g.data["n"] if g else None for g in got]

    @client.create_function(
        fn_id="invoke-times-out", retries=0, trigger=inngest.TriggerEvent(event="pauses/invoke-times-out")
    )
    async def invoke_times_out(ctx: inngest.Context) -> list[Any]:
        async def call() -> str:
            try:
                await ctx.step.invoke("call", function=held_child, data={}, timeout=timedelta(seconds=10))
            except inngest.StepError as err:
                return err.name
            return "not timed out"

        return list(await ctx.group.parallel((call, lambda: ctx.step.sleep("nap", timedelta(seconds=30)))))

    @client.create_function(
        fn_id="fails-beside-invoke",
        retries=0,
        trigger=inngest.TriggerEvent(event="pauses/fails-beside-invoke"),
    )
    async def fails_beside_invoke(ctx: inngest.Context) -> list[Any]:
        def fail() -> None:
            raise inngest.NonRetriableError("the run fails while its child runs")

        return list(
            await ctx.group.parallel(
                (
                    lambda: ctx.step.invoke("call", function=held_child, data={}),
                    lambda: ctx.step.run("fail", fail),
                )
            )
        )

    box.update(sent=False, saw_a=False)

    @client.create_function(fn_id="news-in-flight", trigger=inngest.TriggerEvent(event="pauses/news"))
    async def news_in_flight(ctx: inngest.Context) -> list[Any]:
        async def branch_a() -> Any:
            got = await ctx.step.wait_for_event("a", event="pauses/a", timeout=DAY)
            box["saw_a"] = got is not None  # runs only on a call that has the wait's event
            return None

        async def branch_b() -> str:
            out = await ctx.step.run("b1", lambda: "b1")
            if not box["sent"]:
                # The call that reports b1 done is in flight: the wait ends meanwhile.
                box["sent"] = True
                await client.send(inngest.Event(name="pauses/a"))
            return out

        # Race mode: at request version 2 the function is called while a step of the group
        # is pending (the nap) only in race mode, as on the Dev Server.
        return list(
            await ctx.group.parallel(
                (lambda: ctx.step.sleep("nap", DAY), branch_a, branch_b),
                parallel_mode=inngest.ParallelMode.RACE,
            )
        )

    return [
        held_child,
        three_pauses,
        three_in_time,
        same_event,
        invoke_times_out,
        news_in_flight,
        fails_beside_invoke,
    ]


@pytest.fixture(scope="module")
def ctx() -> Iterator[CaseContext]:
    with local_engine() as host, served(host, "pauses-app", make_functions) as context:
        yield context


def _paused(ctx: CaseContext, event: str) -> str:
    run_id = str(ctx.wait_run(ctx.send(event), "Running")["run_id"])
    ctx.wait_step(run_id, "nap", "Sleeping")
    ctx.wait_step(run_id, "wait", "Waiting")
    ctx.wait_step(run_id, "call", "Waiting")
    return run_id


def _statuses(ctx: CaseContext, run_id: str) -> dict[str, str]:
    """The last timeline status of each of the three pauses."""
    rows = ctx.steps(run_id)
    return {n: [s["status"] for s in rows if s["name"] == n][-1] for n in ("nap", "wait", "call")}


def test_rest_cancel_ends_every_pause(ctx: CaseContext) -> None:
    run_id = _paused(ctx, "pauses/three")
    # Each open pause is a span of its own in /v0/gql and a line of its own on the dashboard.
    query = "query ($id: String!) { runTrace(runID: $id) { childrenSpans { name status stepOp } } }"
    resp = httpx.post(f"{ctx.host.url}/v0/gql", json={"query": query, "variables": {"id": run_id}})
    spans = {s["name"]: s for s in resp.json()["data"]["runTrace"]["childrenSpans"]}
    assert {n: (spans[n]["status"], spans[n]["stepOp"]) for n in ("nap", "wait", "call")} == {
        "nap": ("WAITING", "SLEEP"),
        "wait": ("WAITING", "WAIT_FOR_EVENT"),
        "call": ("WAITING", "INVOKE"),
    }
    page = httpx.get(f"{ctx.host.url}/runs/{run_id}").text
    assert all(f">{name}<" in page for name in ("nap", "wait", "call")), page
    assert httpx.delete(f"{ctx.host.url}/v1/runs/{run_id}").status_code == 200
    assert ctx.run(run_id)["status"] == "Cancelled"
    assert _statuses(ctx, run_id) == {"nap": "Cancelled", "wait": "Cancelled", "call": "Cancelled"}
    # The wait's event and the child's end no longer touch the cancelled run.
    ctx.send("pauses/go")
    ctx.send("pauses/release")
    ctx.wait_run(_child_event(ctx, run_id), "Completed")
    assert ctx.run(run_id)["status"] == "Cancelled"
    assert _statuses(ctx, run_id)["wait"] == "Cancelled"


@pytest.fixture
def paused_ctx() -> Iterator[CaseContext]:
    """An engine whose clock stands still until the test moves it on."""
    with local_engine(paused=True) as host, served(host, "pauses-app", make_functions) as context:
        yield context


def test_finish_timeout_ends_every_pause(paused_ctx: CaseContext) -> None:
    ctx = paused_ctx
    run_id = _paused(ctx, "pauses/three-in-time")  # however long it takes to see all three
    ctx.advance(30)  # the finish timeout
    ctx.wait_step(run_id, "timeouts.finish", "Cancelled", timeout=15)
    assert ctx.run(run_id)["status"] == "Cancelled"
    assert _statuses(ctx, run_id) == {"nap": "Cancelled", "wait": "Cancelled", "call": "Cancelled"}
    # The run it invoked goes on (the real server finalizes only the run that timed out).
    assert ctx.runs(_child_event(ctx, run_id))[0]["status"] == "Running"


def test_an_invoked_child_outlives_its_failed_parent(ctx: CaseContext) -> None:
    """The parent fails while its child waits: the child is not cancelled with it (the real
    server's finalize of the parent touches only the parent's own state and queue items), it
    finishes on its own, and its output no longer reaches the parent."""
    event_id = ctx.send("pauses/fails-beside-invoke")
    parent = ctx.wait_run(event_id, "Failed")
    child_event = _child_event(ctx, parent["run_id"])
    child = ctx.wait_run(child_event, "Running")
    assert [s["status"] for s in ctx.steps(parent["run_id"]) if s["name"] == "call"] == ["Cancelled"]
    ctx.send("pauses/release")
    assert ctx.wait_run(child_event, "Completed")["output"] == "released"
    assert ctx.run(parent["run_id"])["status"] == "Failed"
    assert ctx.run(child["run_id"])["status"] == "Completed"


def test_one_event_ends_each_wait_it_matches(ctx: CaseContext) -> None:
    event_id = ctx.send("pauses/same-event")
    run_id = ctx.wait_run(event_id, "Running")["run_id"]
    for name in ("one", "two", "any"):
        ctx.wait_step(run_id, name, "Waiting")
    ctx.send("pauses/go-n", {"n": 1})  # matches "one" and "any", not "two"
    ctx.wait_step(run_id, "one", "Completed")
    ctx.wait_step(run_id, "any", "Completed")
    assert ctx.wait_step(run_id, "two", "Waiting")
    ctx.send("pauses/go-n", {"n": 2})
    assert ctx.wait_run(event_id, "Completed")["output"] == [1, 2, 1]


def test_an_invoke_times_out_beside_a_sleep(ctx: CaseContext) -> None:
    event_id = ctx.send("pauses/invoke-times-out")
    run = ctx.wait_run(event_id, "Completed")
    assert run["output"] == ["InngestInvokeTimeoutError", None]
    rows = {s["name"]: s for s in ctx.steps(run["run_id"]) if s["op"] in ("InvokeFunction", "Sleep")}
    assert rows["call"]["status"] == "TimedOut" and rows["nap"]["status"] == "Completed"
    assert rows["call"]["intended_delay_ms"] == 10_000
    assert 28_000 <= rows["nap"]["intended_delay_ms"] <= 30_500  # a wake-up time, sent as ISO


def test_a_wait_that_ends_during_a_call_is_seen_at_once(ctx: CaseContext) -> None:
    """The call in flight reports the wait again (it did not know it ended): the engine calls
    the function again now with the wait's event, not once the nap of a day is over."""
    event_id = ctx.send("pauses/news")
    wait_for(lambda: _equal(ctx.box["saw_a"], True), timeout=15)
    run_id = ctx.runs(event_id)[0]["run_id"]
    assert ctx.run(run_id)["status"] == "Running"  # the nap goes on
    assert httpx.delete(f"{ctx.host.url}/v1/runs/{run_id}").status_code == 200


def _child_event(ctx: CaseContext, run_id: str) -> str:
    """The inngest/function.invoked event that started the run's child."""
    with ctx.host.rest() as rest:
        events = rest.get("/v1/events", params={"name": "inngest/function.invoked"}).json()["data"]
    for event in events:
        if event["data"]["_inngest"]["correlation_id"].startswith(run_id):
            return str(event["internal_id"])
    raise AssertionError(f"no invoke event for {run_id}: {events}")


def _equal(got: object, want: object) -> None:
    assert got == want, got
