"""A run started by step.invoke is cancelled: the real server's finalize of a cancel sends an
`inngest/function.finished` with neither `result` nor `error` (status `Cancelled`), and the
invoke pause, resumed by it (`Pause.GetResumeData`), memoizes the whole event: so the parent's
`step.invoke` does not raise but returns that event (inngest-js issue #1694), its
`data._inngest.status` being `Cancelled`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import inngest

from tests.engine.harness import CaseContext, wait_for

APP_ID = "case-invoke-child-cancelled"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="child",
        cancel=[inngest.Cancel(event="case/child-stop")],
        trigger=inngest.TriggerEvent(event="case/child-direct"),
    )
    async def child(ctx: inngest.Context) -> str:
        box["child_run_id"] = ctx.run_id
        await ctx.step.wait_for_event("hold", event="case/child-never", timeout=timedelta(days=1))
        return "child done"

    @client.create_function(fn_id="parent", trigger=inngest.TriggerEvent(event="case/parent"))
    async def parent(ctx: inngest.Context) -> Any:
        return await ctx.step.invoke("call-child", function=child, data={})

    return [child, parent]


def check(ctx: CaseContext) -> None:
    parent_event = ctx.send("case/parent")
    child_id = wait_for(lambda: ctx.box["child_run_id"], timeout=ctx.patience(15))
    wait_for(lambda: _running(ctx, child_id), timeout=ctx.patience(15))
    ctx.send("case/child-stop")
    run = ctx.wait_run(parent_event, "Completed", timeout=30)
    out = run["output"]
    assert out["name"] == "inngest/function.finished", out
    assert out["data"]["_inngest"] == {"status": "Cancelled"}
    assert out["data"]["run_id"] == child_id
    assert (
        out["data"]["correlation_id"] == f"{run['run_id']}.{out['data']['correlation_id'].split('.', 1)[1]}"
    )
    assert "error" not in out["data"] and "result" not in out["data"]
    assert ctx.run(child_id)["status"] == "Cancelled"


def _running(ctx: CaseContext, run_id: str) -> None:
    assert ctx.run(run_id)["status"] == "Running"
