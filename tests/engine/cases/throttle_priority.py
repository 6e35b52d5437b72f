"""priority.run orders runs waiting for a throttle too: the next start goes to the highest factor.

The real queue keeps throttled items in score order (run created − factor) and hands the
throttle's next start to the first of them; so does the engine (flow/waiting.py).
"""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext
from tests.support import wait_for, wait_until

APP_ID = "case-throttle-priority"
PAUSED_CLOCK = True


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["order"] = []

    @client.create_function(
        fn_id="throttled-by-priority",
        # One start per 120 s: the first run takes the start, the three sent after it wait
        # together for the next ones (on the engine, until the test moves its clock on).
        throttle=inngest.Throttle(limit=1, period=datetime.timedelta(seconds=120), burst=0),
        priority=inngest.Priority(run="int(event.data.priority)"),
        trigger=inngest.TriggerEvent(event="case/throttle-priority"),
    )
    async def throttled(ctx: inngest.Context) -> str:
        box["order"].append(ctx.event.data["name"])  # no steps: one call per run
        return str(ctx.event.data["name"])

    return [throttled]


def check(ctx: CaseContext) -> None:
    first = ctx.send("case/throttle-priority", {"name": "first", "priority": 0})
    wait_until(lambda: ctx.box["order"] == ["first"], timeout=ctx.patience(10))
    queued = ctx.send_many(
        "case/throttle-priority",
        [
            {"name": "low", "priority": 0},
            {"name": "high", "priority": 300},
            {"name": "mid", "priority": 100},
        ],
    )
    if ctx.host.kind == "engine":
        # The engine's clock stands still: all three wait for the throttle, then each period
        # the test lets pass gives the next start to the highest factor.
        for event_id in queued:
            wait_for(lambda: _throttled(ctx, event_id), timeout=10)  # noqa: B023 - called at once
        for started in (2, 3, 4):
            ctx.advance(120)
            wait_until(lambda: len(ctx.box["order"]) == started, timeout=10)  # noqa: B023
    for event_id in [first, *queued]:
        ctx.wait_run(event_id, "Completed", timeout=ctx.patience(30) if ctx.host.kind == "engine" else 420)
    assert ctx.box["order"] == ["first", "high", "mid", "low"]
    if ctx.host.kind == "engine":
        waited = [
            s for e in queued for r in ctx.runs(e) for s in ctx.steps(r["run_id"]) if s["op"] == "Throttle"
        ]
        assert len(waited) == 3 and all(s["status"] == "Completed" for s in waited)


def _throttled(ctx: CaseContext, event_id: str) -> None:
    (run,) = ctx.runs(event_id)
    assert [s["status"] for s in ctx.steps(run["run_id"]) if s["op"] == "Throttle"] == ["Throttled"]
