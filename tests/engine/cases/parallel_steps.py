"""ctx.group.parallel: the SDK plans both steps, the engine runs each by its hash, then resumes."""

from __future__ import annotations

from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-parallel"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="parallel", trigger=inngest.TriggerEvent(event="case/parallel"))
    async def parallel(ctx: inngest.Context) -> list[str]:
        results = await ctx.group.parallel(
            (lambda: ctx.step.run("p1", lambda: "one"), lambda: ctx.step.run("p2", lambda: "two"))
        )
        joined = await ctx.step.run("after", lambda: "+".join(results))
        return [*results, joined]

    return [parallel]


def check(ctx: CaseContext) -> None:
    run = ctx.wait_run(ctx.send("case/parallel"), "Completed")
    assert run["output"] == ["one", "two", "one+two"]
    if ctx.host.kind == "engine":
        done = [(s["name"], s["op"]) for s in ctx.steps(run["run_id"]) if s["status"] == "Completed"]
        assert done[:3] == [("p1", "StepRun"), ("p2", "StepRun"), ("after", "StepRun")]
