"""A parallel group of a step and an invoke: the step runs now, not after the invoked run ends.

Issue 11, defect 1: the engine used to apply the invoke and drop the planned step, which then
ran only once the child finished. The child here waits for an event the check sends only after
the step has run, so the old behaviour cannot pass (it would wait for the release forever).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import inngest

from tests.engine.harness import CaseContext, wait_for

APP_ID = "case-parallel-invoke"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="held-child", trigger=inngest.TriggerEvent(event="case/held-child"))
    async def held_child(ctx: inngest.Context) -> str:
        released = await ctx.step.wait_for_event(
            "release", event="case/release-child", timeout=timedelta(hours=1)
        )
        return "released" if released else "timed out"

    def quick() -> str:
        box["quick_ran"] = True
        return "quick"

    @client.create_function(fn_id="parent", trigger=inngest.TriggerEvent(event="case/parallel-invoke"))
    async def parent(ctx: inngest.Context) -> list[Any]:
        return list(
            await ctx.group.parallel(
                (
                    lambda: ctx.step.run("quick", quick),
                    lambda: ctx.step.invoke("call-child", function=held_child, data={}),
                )
            )
        )

    return [held_child, parent]


def check(ctx: CaseContext) -> None:
    event_id = ctx.send("case/parallel-invoke")
    wait_for(lambda: ctx.box["quick_ran"], timeout=ctx.patience(15))
    assert ctx.runs(event_id)[0]["status"] == "Running"  # the child is still held
    ctx.send("case/release-child")
    run = ctx.wait_run(event_id, "Completed")
    assert run["output"] == ["quick", "released"]
