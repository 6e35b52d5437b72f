"""Two sleeps in one parallel group: each is a pause of its own, both durations are honoured,
and the run moves on only after the longer one."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-parallel-sleeps"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="two-naps", trigger=inngest.TriggerEvent(event="case/two-naps"))
    async def two_naps(ctx: inngest.Context) -> str:
        await ctx.group.parallel(
            (
                lambda: ctx.step.sleep("short-nap", datetime.timedelta(seconds=10)),
                lambda: ctx.step.sleep("long-nap", datetime.timedelta(seconds=30)),
            )
        )
        return await ctx.step.run("after", lambda: "after both naps")

    return [two_naps]


def check(ctx: CaseContext) -> None:
    run = ctx.wait_run(ctx.send("case/two-naps"), "Completed", timeout=ctx.patience(15))
    assert run["output"] == "after both naps"
    if ctx.host.kind == "engine":
        steps = ctx.steps(run["run_id"])
        short, long = (next(s for s in steps if s["name"] == n) for n in ("short-nap", "long-nap"))
        after = next(s for s in steps if s["name"] == "after" and s["status"] == "Completed")
        assert short["op"] == long["op"] == "Sleep"
        assert short["status"] == long["status"] == "Completed"
        # Each kept its own duration (intended time, on the virtual clock; the SDK sends wake
        # times, so the app-to-engine lag, long on a loaded machine, comes off the low ends).
        assert 1_000 <= short["intended_delay_ms"] <= 10_500
        assert 11_000 <= long["intended_delay_ms"] <= 30_500
        # The short nap ended first; the run went on only once the long one had ended.
        assert short["ended_at"] <= long["ended_at"] <= after["started_at"]
