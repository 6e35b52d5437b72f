"""A parallel group at request version 2 (the Python SDK's), as the Dev Server runs it since
1.17.2 (inngest-py's `parallel_steps` and `middleware_parallel_steps`):

- while a step of the group is pending (here the invoke, whose child sleeps), finished steps
  do not call the function again: the group's reply is saved as pending steps (SavePending)
  and the next call is enqueued only when SaveStep reports none left;
- that call clears `disable_immediate_execution` (maybeResetForceStepPlan), so the step after
  the group runs at once in it (a `StepRun`, not a `StepPlanned` and one more call).

Calls: 1 (the group, planned) + 3 (its planned steps) + 1 (the invoke's result: "after" runs)
+ 1 (the function returns) = 6; the engine used to make 8.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-parallel-group-v2"
PAUSED_CLOCK = True  # the check ends the child's sleep by moving the engine's time on


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box.update(calls=0, ran=[], ops=[])

    class SeeOutputs(inngest.MiddlewareSync):
        def transform_output(self, result: inngest.TransformOutputResult) -> None:
            if result.step is not None:
                box["ops"].append((result.step.id, result.step.op.value))

    @client.create_function(fn_id="child", retries=0, trigger=inngest.TriggerEvent(event="case/never"))
    async def child(ctx: inngest.Context) -> str:
        await ctx.step.sleep("nap", timedelta(seconds=10))
        return "done"

    def step(name: str) -> int:
        box["ran"].append(name)
        return len(box["ran"])

    @client.create_function(
        fn_id="parent",
        retries=0,
        middleware=[SeeOutputs],
        trigger=inngest.TriggerEvent(event="case/group-v2"),
    )
    async def parent(ctx: inngest.Context) -> list[Any]:
        box["calls"] += 1
        out = await ctx.group.parallel(
            (
                lambda: ctx.step.invoke("invoke", function=child),
                lambda: ctx.step.run("1a", lambda: step("1a")),
                lambda: ctx.step.run("1b", lambda: step("1b")),
                lambda: ctx.step.send_event("send", events=inngest.Event(name="case/noop")),
            )
        )
        await ctx.step.run("after", lambda: step("after"))
        return [out[0], out[1], out[2]]

    return [parent, child]


def check(ctx: CaseContext) -> None:
    event_id = ctx.send("case/group-v2")
    if ctx.host.kind == "engine":
        run_id = ctx.wait_run(event_id, "Running")["run_id"]
        ctx.wait_step(run_id, "send", "Completed")
    ctx.advance(60)  # past the child's nap (its wake-up time is 10 s of the app's wall clock)
    run = ctx.wait_run(event_id, "Completed", timeout=ctx.patience(15))
    assert run["output"] == ["done", 1, 2]
    assert ctx.box["ran"] == ["1a", "1b", "after"]
    assert ctx.box["calls"] == 6
    # "after" ran at once in the call that followed the group (immediate execution is back).
    assert ("after", "StepRun") in ctx.box["ops"]
