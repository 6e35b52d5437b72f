"""priority.run: among runs queued behind a concurrency limit, higher factors start first."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import inngest

from tests.engine.harness import CaseContext
from tests.support import wait_until

APP_ID = "case-priority"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["order"] = []
    box["release"] = threading.Event()  # set by the test, from its own thread
    box["blocking"] = False

    async def work(ctx: inngest.Context) -> str:
        if ctx.event.data.get("blocker"):
            box["blocking"] = True
            # holds the only slot until the test has queued the others
            await asyncio.to_thread(box["release"].wait, 60)
        box["order"].append(ctx.event.data["name"])
        return str(ctx.event.data["name"])

    @client.create_function(
        fn_id="prioritised",
        concurrency=[inngest.Concurrency(limit=1)],
        priority=inngest.Priority(run="int(event.data.priority)"),
        trigger=inngest.TriggerEvent(event="case/priority"),
    )
    async def prioritised(ctx: inngest.Context) -> str:
        async def step() -> str:
            return await work(ctx)

        return await ctx.step.run("work", step)

    return [prioritised]


def check(ctx: CaseContext) -> None:
    blocker = ctx.send("case/priority", {"name": "blocker", "blocker": True, "priority": 0})
    wait_until(lambda: ctx.box["blocking"], timeout=ctx.patience(10))
    queued = ctx.send_many(
        "case/priority",
        [
            {"name": "low", "priority": 0},
            {"name": "high", "priority": 300},
            {"name": "mid", "priority": 100},
        ],
    )
    for event_id in queued:
        assert len(ctx.runs(event_id)) == 1  # all three exist and wait for the slot
    ctx.box["release"].set()
    for event_id in [blocker, *queued]:
        ctx.wait_run(event_id, "Completed")
    assert ctx.box["order"] == ["blocker", "high", "mid", "low"]
