"""priority.run orders runs waiting for a throttle too: the next start goes to the highest factor.

The real queue keeps throttled items in score order (run created − factor) and hands the
throttle's next start to the first of them; so does the engine (flow/waiting.py).
"""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext
from tests.support import wait_until

APP_ID = "case-throttle-priority"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["order"] = []

    @client.create_function(
        fn_id="throttled-by-priority",
        # One start per 120 s (1.2 s real at the test time scale): the first run takes the
        # start, the three sent after it wait together for the next ones.
        throttle=inngest.Throttle(limit=1, period=datetime.timedelta(seconds=120), burst=0),
        priority=inngest.Priority(run="event.data.priority"),
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
    for event_id in [first, *queued]:
        ctx.wait_run(event_id, "Completed", timeout=ctx.patience(30) if ctx.host.kind == "engine" else 420)
    assert ctx.box["order"] == ["first", "high", "mid", "low"]
    if ctx.host.kind == "engine":
        waited = [
            s for e in queued for r in ctx.runs(e) for s in ctx.steps(r["run_id"]) if s["op"] == "Throttle"
        ]
        assert len(waited) == 3 and all(s["status"] == "Completed" for s in waited)
