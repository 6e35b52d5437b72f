"""cancel=[Cancel(event, if_exp)]: a matching event cancels the sleeping run; others do not."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-cancel"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="cancellable",
        cancel=[inngest.Cancel(event="case/cancel", if_exp="async.data.id == event.data.id")],
        trigger=inngest.TriggerEvent(event="case/long"),
    )
    async def cancellable(ctx: inngest.Context) -> str:
        await ctx.step.run("start", lambda: "started")
        await ctx.step.sleep("long-nap", datetime.timedelta(days=1))
        return "woke up"

    return [cancellable]


def check(ctx: CaseContext) -> None:
    keep = ctx.send("case/long", {"id": "keep"})
    drop = ctx.send("case/long", {"id": "drop"})
    ctx.wait_run(drop, "Running")
    ctx.wait_run(keep, "Running")
    ctx.send("case/cancel", {"id": "drop"})
    ctx.wait_run(drop, "Cancelled")
    assert ctx.runs(keep)[0]["status"] == "Running"
