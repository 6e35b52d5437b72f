"""A sleep and a wait_for_event in one parallel group, with a step planned beside them.

Race mode: the event resumes its branch, which runs its next step while the sleep still
sleeps; a cancel event then ends the run and, with it, the sleep. Wait mode (the default), at
request version 2 (the Python SDK's): as on the Dev Server, the function is not called while a
step of the group is pending, so the waiting branch moves on only once the nap is over.
"""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext, wait_for

APP_ID = "case-parallel-sleep-wait"
PAUSED_CLOCK = True  # the check ends the wait-mode nap by moving the engine's time on


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box.update(after_wait=None, marked=0)

    def mark() -> str:
        box["marked"] += 1
        return "marked"

    def after_wait(who: str) -> str:
        box["after_wait"] = who
        return f"approved by {who}"

    def make(mode: inngest.ParallelMode, nap: datetime.timedelta) -> inngest.Function[Any]:
        @client.create_function(
            fn_id=f"nap-and-wait-{mode.value}",
            cancel=[inngest.Cancel(event="case/stop-napping")],
            trigger=inngest.TriggerEvent(event=f"case/nap-and-wait.{mode.value}"),
        )
        async def nap_and_wait(ctx: inngest.Context) -> list[Any]:
            async def approval() -> str:
                got = await ctx.step.wait_for_event(
                    "approval", event=f"case/nap-approved.{mode.value}", timeout=datetime.timedelta(days=2)
                )
                who = got.data["by"] if got else "nobody"
                return await ctx.step.run("after-wait", after_wait, f"{who} ({mode.value})")

            return list(
                await ctx.group.parallel(
                    (
                        lambda: ctx.step.sleep("long-nap", nap),
                        approval,
                        # Planned in the same reply as the pauses: once it ran, they exist.
                        lambda: ctx.step.run("mark", mark),
                    ),
                    parallel_mode=mode,
                )
            )

        return nap_and_wait

    return [
        make(inngest.ParallelMode.RACE, datetime.timedelta(days=1)),
        make(inngest.ParallelMode.WAIT, datetime.timedelta(seconds=10)),
    ]


def check(ctx: CaseContext) -> None:
    # Race mode: the waiting branch moves on while the nap of a day goes on.
    event_id = ctx.send("case/nap-and-wait.race")
    run_id = ctx.wait_run(event_id, "Running")["run_id"]
    wait_for(lambda: _equal(ctx.box["marked"], 1), timeout=ctx.patience(15))
    if ctx.host.kind == "engine":
        ctx.wait_step(run_id, "approval", "Waiting")
        ctx.wait_step(run_id, "long-nap", "Sleeping")
    ctx.send("case/nap-approved.race", {"by": "ann"})
    wait_for(lambda: _equal(ctx.box["after_wait"], "ann (race)"), timeout=ctx.patience(15))
    assert ctx.runs(event_id)[0]["status"] == "Running"
    ctx.send("case/stop-napping")
    ctx.wait_run(event_id, "Cancelled")
    if ctx.host.kind == "engine":
        steps = ctx.steps(run_id)
        assert next(s for s in steps if s["name"] == "approval")["status"] == "Completed"
        assert any(s["name"] == "after-wait" and s["status"] == "Completed" for s in steps)
        # The sleep ended with the run.
        nap = next(s for s in steps if s["name"] == "long-nap")
        assert nap["status"] == "Cancelled" and nap["ended_at"] is not None

    # Wait mode: the approval is taken at once, but its branch goes on after the nap.
    event_id = ctx.send("case/nap-and-wait.wait")
    run_id = ctx.wait_run(event_id, "Running")["run_id"]
    wait_for(lambda: _equal(ctx.box["marked"], 2), timeout=ctx.patience(15))
    if ctx.host.kind == "engine":
        ctx.wait_step(run_id, "approval", "Waiting")
    ctx.send("case/nap-approved.wait", {"by": "bob"})
    if ctx.host.kind == "engine":
        ctx.wait_step(run_id, "approval", "Completed")
    ctx.advance(60)  # past the nap (its wake-up time is 10 s of the app's wall clock)
    run = ctx.wait_run(event_id, "Completed", timeout=ctx.patience(15))
    assert run["output"] == [None, "approved by bob (wait)", "marked"]
    if ctx.host.kind == "engine":
        steps = {s["name"]: s for s in ctx.steps(run_id)}
        # The branch's next step started only once the nap had ended (the clock moved on 60 s).
        assert steps["after-wait"]["started_at"] >= steps["long-nap"]["ended_at"]
        assert steps["after-wait"]["started_at"] > steps["approval"]["ended_at"]


def _equal(got: object, want: object) -> None:
    assert got == want, got
