"""step.invoke of a batched and of a debounced function: as on the real server, whose runner
schedules the `inngest/function.invoked` event like any other, the invoked events join the
child's batch (one run gets both and each invoker gets its output, through the finished event
sent per event that carries a correlation id) and go through its debounce (the run starts
with the key's last event, after the period; an invoke replaced by a later event of its key
would leave its invoker waiting, there too)."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext
from tests.support import wait_for

APP_ID = "case-invoke-flow-control"
# The batch's 60 s timeout would be 0.6 s of real time at the tests' scale, and two invokes
# a slow machine sends further apart would each run alone: the clock stands still instead,
# and the test moves it past the debounce's period once both invokes wait for it.
PAUSED_CLOCK = True


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="batched",
        batch_events=inngest.Batch(max_size=2, timeout=datetime.timedelta(seconds=60)),
        trigger=inngest.TriggerEvent(event="case/batched-direct"),
    )
    async def batched(ctx: inngest.Context) -> list[Any]:
        return sorted(e.data["n"] for e in ctx.events)

    @client.create_function(
        fn_id="debounced",
        debounce=inngest.Debounce(period=datetime.timedelta(seconds=2), key="event.data.n"),
        trigger=inngest.TriggerEvent(event="case/debounced-direct"),
    )
    async def debounced(ctx: inngest.Context) -> str:
        return f"debounced ran for {ctx.event.data['n']}"

    @client.create_function(fn_id="parent", trigger=inngest.TriggerEvent(event="case/invoke-flow"))
    async def parent(ctx: inngest.Context) -> list[Any]:
        n = ctx.event.data["n"]
        return [
            await ctx.step.invoke("batch", function=batched, data={"n": n}),
            await ctx.step.invoke("debounce", function=debounced, data={"n": n}),
        ]

    return [batched, debounced, parent]


def check(ctx: CaseContext) -> None:
    first, second = ctx.send_many("case/invoke-flow", [{"n": 1}, {"n": 2}])
    if ctx.host.kind == "engine":
        for event_id in (first, second):
            run = ctx.wait_run(event_id, "Running")
            ctx.wait_step(run["run_id"], "debounce", "Waiting", timeout=30)

        def debounced_ran() -> None:
            ctx.advance(2)  # the debounce's period (each time: nothing else here waits on time)
            assert [r["status"] for e in (first, second) for r in ctx.runs(e)] == ["Completed"] * 2

        wait_for(debounced_ran, timeout=30, interval=0.2)
    a = ctx.wait_run(first, "Completed", timeout=30)
    b = ctx.wait_run(second, "Completed", timeout=30)
    # One batch run for both invokes; each parent got its output.
    assert a["output"][0] == [1, 2] and b["output"][0] == [1, 2], (a, b)
    # Each parent's debounced invoke (a key of its own) ran once the period passed. (One
    # replaced by a later event of its key would start no run: its invoker would wait.)
    assert a["output"][1] == "debounced ran for 1" and b["output"][1] == "debounced ran for 2"
