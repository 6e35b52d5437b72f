"""Two step.run calls: each result is memoized and the function returns both."""

from __future__ import annotations

from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-two-steps"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["calls"] = 0

    @client.create_function(fn_id="two-steps", trigger=inngest.TriggerEvent(event="case/two-steps"))
    async def two_steps(ctx: inngest.Context) -> dict[str, Any]:
        box["calls"] += 1
        a = await ctx.step.run("first", lambda: "A")
        b = await ctx.step.run("second", lambda: a + "B")
        return {"a": a, "b": b, "n": ctx.event.data["n"]}

    return [two_steps]


def check(ctx: CaseContext) -> None:
    event_id = ctx.send("case/two-steps", {"n": 7})
    run = ctx.wait_run(event_id, "Completed")
    assert run["output"] == {"a": "A", "b": "AB", "n": 7}
    assert ctx.box["calls"] == 3  # one call per step, then the final one
    if ctx.host.kind == "engine":
        steps = ctx.steps(run["run_id"])
        assert [(s["name"], s["op"], s["status"]) for s in steps] == [
            ("first", "StepRun", "Completed"),
            ("second", "StepRun", "Completed"),
            ("function", "RunComplete", "Completed"),
        ]
