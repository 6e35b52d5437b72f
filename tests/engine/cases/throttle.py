"""throttle (limit, period, burst): excess runs are delayed, never dropped."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-throttle"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="throttled",
        throttle=inngest.Throttle(limit=1, period=datetime.timedelta(seconds=60), burst=0),
        trigger=inngest.TriggerEvent(event="case/throttle"),
    )
    async def throttled(ctx: inngest.Context) -> Any:
        return ctx.event.data["i"]

    return [throttled]


def check(ctx: CaseContext) -> None:
    ids = ctx.send_many("case/throttle", [{"i": i} for i in range(3)])
    # One start per 60 s (0.6 s real at the test time scale): all three run, one after another.
    runs = [ctx.wait_run(event_id, "Completed", timeout=ctx.patience(20)) for event_id in ids]
    assert sorted(r["output"] for r in runs) == [0, 1, 2]
    if ctx.host.kind == "engine":
        waited = [
            s for r in runs for s in ctx.steps(r["run_id"]) if s["op"] == "Throttle"
        ]  # the runs that had to wait say so in their timeline
        assert len(waited) >= 2 and all(s["status"] == "Completed" for s in waited)
        assert all(s["intended_delay_ms"] > 0 and s["output"]["limit"] == 1 for s in waited)
