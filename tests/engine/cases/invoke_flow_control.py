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

APP_ID = "case-invoke-flow-control"


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
    a = ctx.wait_run(first, "Completed", timeout=30)
    b = ctx.wait_run(second, "Completed", timeout=30)
    # One batch run for both invokes; each parent got its output.
    assert a["output"][0] == [1, 2] and b["output"][0] == [1, 2], (a, b)
    # Each parent's debounced invoke (a key of its own) ran once the period passed. (One
    # replaced by a later event of its key would start no run: its invoker would wait.)
    assert a["output"][1] == "debounced ran for 1" and b["output"][1] == "debounced ran for 2"
