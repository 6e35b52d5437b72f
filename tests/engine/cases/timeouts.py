"""timeouts (start, finish): a run queued too long, or running too long, is cancelled.

On the engine's paused clock: the case moves time past each limit once the run is where the
limit applies (queued behind the blocker, asleep), so no real-time window decides it.
"""

from __future__ import annotations

import asyncio
import datetime
import threading
from typing import Any

import inngest

from tests.engine.harness import CaseContext
from tests.support import wait_for, wait_until

APP_ID = "case-timeouts"
PAUSED_CLOCK = True


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["release"] = threading.Event()  # set by the test, from its own thread
    box["blocking"] = False

    @client.create_function(
        fn_id="start-within",
        concurrency=[inngest.Concurrency(limit=1)],
        timeouts=inngest.Timeouts(start=datetime.timedelta(seconds=10)),
        trigger=inngest.TriggerEvent(event="case/timeouts.start"),
    )
    async def start_within(ctx: inngest.Context) -> str:
        async def work() -> str:
            if ctx.event.data.get("blocker"):
                box["blocking"] = True
                # holds the only slot: the next run cannot start
                await asyncio.to_thread(box["release"].wait, 60)
            return "ran"

        return await ctx.step.run("work", work)

    @client.create_function(
        fn_id="finish-within",
        timeouts=inngest.Timeouts(finish=datetime.timedelta(seconds=10)),
        trigger=inngest.TriggerEvent(event="case/timeouts.finish"),
    )
    async def finish_within(ctx: inngest.Context) -> str:
        await ctx.step.sleep("too-long", datetime.timedelta(hours=1))
        return "never"

    return [start_within, finish_within]


def check(ctx: CaseContext) -> None:
    blocker = ctx.send("case/timeouts.start", {"blocker": True})
    wait_until(lambda: ctx.box["blocking"], timeout=ctx.patience(10))
    queued = ctx.send("case/timeouts.start", {})
    wait_for(lambda: ctx.runs(queued)[0], timeout=ctx.patience(10))  # queued behind the blocker
    ctx.advance(11)
    late = ctx.wait_run(queued, "Cancelled", timeout=ctx.patience(10))  # 10 s in the queue
    ctx.box["release"].set()
    assert ctx.wait_run(blocker, "Completed")["output"] == "ran"

    sleeper = ctx.send("case/timeouts.finish")
    run_id = wait_for(lambda: ctx.runs(sleeper)[0]["run_id"], timeout=ctx.patience(10))
    if ctx.host.kind == "engine":  # a real Dev Server's time passes by itself (and has no /steps)
        ctx.wait_step(run_id, "too-long", "Sleeping", timeout=ctx.patience(10))
        ctx.advance(11)
    slow = ctx.wait_run(sleeper, "Cancelled", timeout=ctx.patience(10))
    if ctx.host.kind == "engine":
        row = ctx.steps(late["run_id"])[-1]
        assert (row["op"], row["name"]) == ("Timeout", "timeouts.start")
        assert "did not start within 10s" in row["error"]["message"]
        row = ctx.steps(slow["run_id"])[-1]
        assert (row["op"], row["name"]) == ("Timeout", "timeouts.finish")
        assert "did not finish within 10s" in row["error"]["message"]
