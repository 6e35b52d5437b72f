"""Two invokes in one parallel group: each waits for its own child; the run ends when both
children have, with each child's output under its own step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import inngest

from tests.engine.harness import CaseContext, wait_for

APP_ID = "case-parallel-invokes"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="quick-child", trigger=inngest.TriggerEvent(event="case/quick-child"))
    async def quick_child(ctx: inngest.Context) -> str:
        return await ctx.step.run("answer", lambda: f"quick {ctx.event.data['n']}")

    @client.create_function(fn_id="held-child", trigger=inngest.TriggerEvent(event="case/held-child-2"))
    async def held_child(ctx: inngest.Context) -> str:
        released = await ctx.step.wait_for_event(
            "release", event="case/release-held", timeout=timedelta(hours=1)
        )
        return f"held {ctx.event.data['n']} " + ("released" if released else "timed out")

    @client.create_function(fn_id="two-invokes", trigger=inngest.TriggerEvent(event="case/two-invokes"))
    async def two_invokes(ctx: inngest.Context) -> list[Any]:
        return list(
            await ctx.group.parallel(
                (
                    lambda: ctx.step.invoke("call-quick", function=quick_child, data={"n": 1}),
                    lambda: ctx.step.invoke("call-held", function=held_child, data={"n": 2}),
                )
            )
        )

    return [quick_child, held_child, two_invokes]


def check(ctx: CaseContext) -> None:
    event_id = ctx.send("case/two-invokes")
    run_id = ctx.wait_run(event_id, "Running")["run_id"]
    if ctx.host.kind == "engine":
        # The quick child finished and its output is in; the parent still waits for the other.
        ctx.wait_step(run_id, "call-quick", "Completed")
        held = ctx.wait_step(run_id, "call-held", "Waiting")
        assert held["op"] == "InvokeFunction"
    else:
        wait_for(lambda: _quick_child_done(ctx), timeout=ctx.patience(15))
    assert ctx.runs(event_id)[0]["status"] == "Running"
    ctx.send("case/release-held")
    run = ctx.wait_run(event_id, "Completed")
    assert run["output"] == ["quick 1", "held 2 released"]


def _quick_child_done(ctx: CaseContext) -> None:
    """On a real Dev Server: the quick child's run (found through the event list) completed."""
    with ctx.host.rest() as rest:
        events = rest.get("/v1/events", params={"name": "inngest/function.finished"}).json()["data"]
    assert any((e.get("data") or {}).get("result") == "quick 1" for e in events), events
