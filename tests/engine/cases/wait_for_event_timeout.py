"""step.wait_for_event with no matching event: it times out and returns None."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-wait-timeout"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="waiter", trigger=inngest.TriggerEvent(event="case/wait-timeout"))
    async def waiter(ctx: inngest.Context) -> dict[str, Any]:
        got = await ctx.step.wait_for_event(
            "wait-nothing", event="case/never-sent", timeout=datetime.timedelta(seconds=5)
        )
        return {"timed_out": got is None}

    return [waiter]


def check(ctx: CaseContext) -> None:
    run = ctx.wait_run(ctx.send("case/wait-timeout"), "Completed", timeout=ctx.patience(10))
    assert run["output"] == {"timed_out": True}
    if ctx.host.kind == "engine":
        row = next(s for s in ctx.steps(run["run_id"]) if s["name"] == "wait-nothing")
        assert row["status"] == "TimedOut" and row["intended_delay_ms"] == 5000
