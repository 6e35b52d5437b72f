"""A run cancelled while it waits for a function it invoked: the child run goes on and finishes
on its own (the real server's cancel finalizes only the cancelled run: its state, its queue
items, its finish events; nothing looks for runs it invoked), and its end no longer touches
the cancelled parent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import inngest

from tests.engine.harness import CaseContext, wait_for

APP_ID = "case-invoke-parent-cancelled"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="child", trigger=inngest.TriggerEvent(event="case/child-direct"))
    async def child(ctx: inngest.Context) -> str:
        box["child_run_id"] = ctx.run_id
        await ctx.step.wait_for_event("release", event="case/child-release", timeout=timedelta(days=1))
        return "child done"

    @client.create_function(
        fn_id="parent",
        cancel=[inngest.Cancel(event="case/parent-stop")],
        trigger=inngest.TriggerEvent(event="case/parent"),
    )
    async def parent(ctx: inngest.Context) -> Any:
        return await ctx.step.invoke("call-child", function=child, data={})

    return [child, parent]


def check(ctx: CaseContext) -> None:
    parent_event = ctx.send("case/parent")
    child_id = wait_for(lambda: ctx.box["child_run_id"], timeout=ctx.patience(15))
    wait_for(lambda: _status(ctx, child_id, "Running"), timeout=ctx.patience(15))
    ctx.send("case/parent-stop")
    parent = ctx.wait_run(parent_event, "Cancelled")
    assert ctx.run(child_id)["status"] == "Running"  # the child is not cancelled with it
    ctx.send("case/child-release")
    child = wait_for(lambda: _status(ctx, child_id, "Completed"), timeout=ctx.patience(15))
    assert child["output"] == "child done"
    assert ctx.run(parent["run_id"])["status"] == "Cancelled"


def _status(ctx: CaseContext, run_id: str, status: str) -> dict[str, Any]:
    run = ctx.run(run_id)
    assert run["status"] == status, run
    return run
