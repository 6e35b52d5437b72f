"""A parallel group of a step and a wait for an event: the step runs while the run waits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import inngest

from tests.engine.harness import CaseContext, wait_for

APP_ID = "case-parallel-wait"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    def quick() -> str:
        box["quick_ran"] = True
        return "quick"

    @client.create_function(fn_id="step-and-wait", trigger=inngest.TriggerEvent(event="case/parallel-wait"))
    async def step_and_wait(ctx: inngest.Context) -> list[Any]:
        quick_out, approval = await ctx.group.parallel(
            (
                lambda: ctx.step.run("quick", quick),
                lambda: ctx.step.wait_for_event(
                    "approval", event="case/approved", timeout=timedelta(hours=1)
                ),
            )
        )
        return [quick_out, approval.data if approval else None]

    return [step_and_wait]


def check(ctx: CaseContext) -> None:
    event_id = ctx.send("case/parallel-wait")
    wait_for(lambda: ctx.box["quick_ran"], timeout=ctx.patience(15))
    assert ctx.runs(event_id)[0]["status"] == "Running"  # still waiting for the approval
    ctx.send("case/approved", {"by": "ann"})
    run = ctx.wait_run(event_id, "Completed")
    assert run["output"] == ["quick", {"by": "ann"}]
