"""step.sleep: a durable timer; the virtual clock shrinks the wait but records the intended 10 s."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-sleep"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="sleeper", trigger=inngest.TriggerEvent(event="case/sleep"))
    async def sleeper(ctx: inngest.Context) -> str:
        before = await ctx.step.run("before", lambda: "b")
        await ctx.step.sleep("nap", datetime.timedelta(seconds=10))
        after = await ctx.step.run("after", lambda: "a")
        return before + after

    return [sleeper]


def check(ctx: CaseContext) -> None:
    run = ctx.wait_run(ctx.send("case/sleep"), "Completed", timeout=ctx.patience(10))
    assert run["output"] == "ba"
    if ctx.host.kind == "engine":
        nap = next(s for s in ctx.steps(run["run_id"]) if s["name"] == "nap")
        assert nap["op"] == "Sleep" and nap["status"] == "Completed"
        # Intended time, not the real 0.1 s; the SDK sends a wake time, so the app-to-engine lag
        # (long on a loaded machine) comes off the low end.
        assert 1_000 <= nap["intended_delay_ms"] <= 10_500
        assert nap["scheduled_for"] is not None
