"""concurrency=[Concurrency(limit=1)]: runs of the function never overlap."""

from __future__ import annotations

import asyncio
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-concurrency"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["active"] = 0
    box["max_active"] = 0

    async def work() -> str:
        box["active"] += 1
        box["max_active"] = max(box["max_active"], box["active"])
        await asyncio.sleep(0.05)
        box["active"] -= 1
        return "done"

    @client.create_function(
        fn_id="one-at-a-time",
        concurrency=[inngest.Concurrency(limit=1)],
        trigger=inngest.TriggerEvent(event="case/concurrency"),
    )
    async def one_at_a_time(ctx: inngest.Context) -> str:
        return await ctx.step.run("work", work)

    return [one_at_a_time]


def check(ctx: CaseContext) -> None:
    ids = [ctx.send("case/concurrency", {"i": i}) for i in range(4)]
    for event_id in ids:
        ctx.wait_run(event_id, "Completed")
    assert ctx.box["max_active"] == 1
