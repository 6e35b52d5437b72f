"""step.wait_for_event: only the event whose `if` expression matches resumes the run."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-wait-matched"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="waiter", trigger=inngest.TriggerEvent(event="case/order"))
    async def waiter(ctx: inngest.Context) -> Any:
        approved = await ctx.step.wait_for_event(
            "wait-approval",
            event="case/approved",
            if_exp="async.data.order == event.data.order",
            timeout=datetime.timedelta(hours=1),
        )
        return None if approved is None else approved.data

    return [waiter]


def check(ctx: CaseContext) -> None:
    event_id = ctx.send("case/order", {"order": "o-1"})
    run = ctx.wait_run(event_id, "Running")
    if ctx.host.kind == "engine":
        ctx.wait_step(run["run_id"], "wait-approval", "Waiting")
    ctx.send("case/approved", {"order": "o-2", "by": "someone else"})
    ctx.send("case/approved", {"order": "o-1", "by": "ana"})
    run = ctx.wait_run(event_id, "Completed")
    assert run["output"] == {"order": "o-1", "by": "ana"}
