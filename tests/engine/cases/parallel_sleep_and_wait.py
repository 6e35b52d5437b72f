"""A sleep and a wait_for_event in one parallel group: the event resumes its branch (which
runs its next step) while the sleep still sleeps; a cancel event then ends the run and,
with it, the sleep."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext, wait_for

APP_ID = "case-parallel-sleep-wait"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box.update(after_wait=None, marked=False)

    def mark() -> str:
        box["marked"] = True
        return "marked"

    def after_wait(who: str) -> str:
        box["after_wait"] = who
        return f"approved by {who}"

    @client.create_function(
        fn_id="nap-and-wait",
        cancel=[inngest.Cancel(event="case/stop-napping")],
        trigger=inngest.TriggerEvent(event="case/nap-and-wait"),
    )
    async def nap_and_wait(ctx: inngest.Context) -> list[Any]:
        async def approval() -> str:
            got = await ctx.step.wait_for_event(
                "approval", event="case/nap-approved", timeout=datetime.timedelta(days=2)
            )
            who = got.data["by"] if got else "nobody"
            return await ctx.step.run("after-wait", after_wait, who)

        return list(
            await ctx.group.parallel(
                (
                    lambda: ctx.step.sleep("long-nap", datetime.timedelta(days=1)),
                    approval,
                    # Planned in the same reply as the pauses: once it ran, they exist.
                    lambda: ctx.step.run("mark", mark),
                )
            )
        )

    return [nap_and_wait]


def check(ctx: CaseContext) -> None:
    event_id = ctx.send("case/nap-and-wait")
    run_id = ctx.wait_run(event_id, "Running")["run_id"]
    wait_for(lambda: _equal(ctx.box["marked"], True), timeout=ctx.patience(15))
    if ctx.host.kind == "engine":
        ctx.wait_step(run_id, "approval", "Waiting")
        ctx.wait_step(run_id, "long-nap", "Sleeping")
    ctx.send("case/nap-approved", {"by": "ann"})
    # The waiting branch moved on to its next step; the nap of a day goes on.
    wait_for(lambda: _equal(ctx.box["after_wait"], "ann"), timeout=ctx.patience(15))
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


def _equal(got: object, want: object) -> None:
    assert got == want, got
