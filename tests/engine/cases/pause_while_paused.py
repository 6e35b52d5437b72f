"""A pause started while another is in progress: branch A waits for an event from the start;
branch B runs a step, then sleeps (a second pause, begun while A's wait goes on), then runs
another step. B finishes while A still waits; the event then completes the run. In race mode:
at request version 2 (the Python SDK's) the Dev Server calls the function while a step of the
group is pending (A's wait) only in race mode; in wait mode B would go on once A's wait ended
(parallel_wait_during_retry.py, parallel_sleep_and_wait.py)."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext, wait_for

APP_ID = "case-pause-while-paused"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["b2"] = False

    def b2() -> str:
        box["b2"] = True
        return "b2"

    @client.create_function(fn_id="wait-then-nap", trigger=inngest.TriggerEvent(event="case/wait-then-nap"))
    async def wait_then_nap(ctx: inngest.Context) -> list[Any]:
        async def branch_a() -> str:
            got = await ctx.step.wait_for_event(
                "go-a", event="case/go-a", timeout=datetime.timedelta(hours=1)
            )
            return got.data["word"] if got else "timed out"

        async def branch_b() -> str:
            first = await ctx.step.run("b1", lambda: "b1")
            await ctx.step.sleep("b-nap", datetime.timedelta(seconds=2))
            return first + "+" + await ctx.step.run("b2", b2)

        return list(await ctx.group.parallel((branch_a, branch_b), parallel_mode=inngest.ParallelMode.RACE))

    return [wait_then_nap]


def check(ctx: CaseContext) -> None:
    event_id = ctx.send("case/wait-then-nap")
    # B ran b1, slept and ran b2 while A's wait went on.
    wait_for(lambda: _equal(ctx.box["b2"], True), timeout=ctx.patience(15))
    run = ctx.runs(event_id)[0]
    assert run["status"] == "Running"
    if ctx.host.kind == "engine":
        steps = ctx.steps(run["run_id"])
        wait = next(s for s in steps if s["name"] == "go-a")
        nap = next(s for s in steps if s["name"] == "b-nap")
        assert wait["status"] == "Waiting" and nap["status"] == "Completed"
        assert wait["started_at"] < nap["started_at"]  # the nap began during the wait
    ctx.send("case/go-a", {"word": "a"})
    run = ctx.wait_run(event_id, "Completed")
    assert run["output"] == ["a", "b1+b2"]


def _equal(got: object, want: object) -> None:
    assert got == want, got
