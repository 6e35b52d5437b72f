"""A run queued behind its function's concurrency limit holds no global slot while it waits.

Function A (limit 1) gets a backlog whose step blocks until the test releases it; with a
global limit of 2, function B (no limit) must still complete while A's backlog is queued.
Nothing is timed: the order is read from run statuses and ended_at in the REST API.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import inngest

from learninngest.engine.clock import parse_iso
from tests.engine.harness import local_engine, served
from tests.support import wait_until

BACKLOG = 4


def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box.update(release=threading.Event(), entered=0, active=0, max_active=0)

    async def blocked() -> str:
        box["entered"] += 1
        box["active"] += 1
        box["max_active"] = max(box["max_active"], box["active"])
        try:
            await asyncio.to_thread(box["release"].wait, 30)
        finally:
            box["active"] -= 1
        return "a"

    @client.create_function(
        fn_id="limited",
        concurrency=[inngest.Concurrency(limit=1)],
        trigger=inngest.TriggerEvent(event="slots/a"),
    )
    async def limited(ctx: inngest.Context) -> str:
        return await ctx.step.run("blocked", blocked)

    @client.create_function(fn_id="free", trigger=inngest.TriggerEvent(event="slots/b"))
    async def free(ctx: inngest.Context) -> str:
        return await ctx.step.run("quick", lambda: "b")

    return [limited, free]


def test_a_function_backlog_does_not_starve_other_functions() -> None:
    with local_engine(max_concurrency=2) as host, served(host, "slots", make_functions) as ctx:
        try:
            a_events = [ctx.send("slots/a", {"n": n}) for n in range(BACKLOG)]
            wait_until(lambda: ctx.box["entered"] == 1)  # A's first run is inside its blocked step
            b_run = ctx.wait_run(ctx.send("slots/b"), "Completed", timeout=10)
            assert b_run["output"] == "b"
            a_runs = [ctx.runs(event_id)[0] for event_id in a_events]
            assert not [r for r in a_runs if r["status"] == "Completed"], a_runs
        finally:
            ctx.box["release"].set()
        done = [ctx.wait_run(event_id, "Completed", timeout=20) for event_id in a_events]
        assert all(parse_iso(b_run["ended_at"]) < parse_iso(r["ended_at"]) for r in done)
        assert ctx.box["max_active"] == 1
        assert ctx.box["entered"] == BACKLOG
