"""A group of a flaky step and a wait: the step retries (and succeeds) while the run waits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import inngest

from tests.engine.harness import CaseContext, wait_for

APP_ID = "case-retry-while-waiting"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["attempts"] = 0

    def flaky() -> str:
        box["attempts"] += 1
        if box["attempts"] == 1:
            raise ValueError("first attempt fails")
        return "flaky-ok"

    @client.create_function(
        fn_id="flaky-and-wait", retries=2, trigger=inngest.TriggerEvent(event="case/retry-while-waiting")
    )
    async def flaky_and_wait(ctx: inngest.Context) -> list[Any]:
        step_out, approval = await ctx.group.parallel(
            (
                lambda: ctx.step.run("flaky", flaky),
                lambda: ctx.step.wait_for_event("go", event="case/go-on", timeout=timedelta(hours=1)),
            )
        )
        return [step_out, approval.name if approval else None]

    return [flaky_and_wait]


def check(ctx: CaseContext) -> None:
    event_id = ctx.send("case/retry-while-waiting")
    # The retry comes after its backoff, not after the wait.
    wait_for(lambda: ctx.box["attempts"] == 2 or _not_yet(ctx.box), timeout=ctx.patience(15))
    assert ctx.runs(event_id)[0]["status"] == "Running"
    ctx.send("case/go-on")
    run = ctx.wait_run(event_id, "Completed")
    assert run["output"] == ["flaky-ok", "case/go-on"]


def _not_yet(box: dict[str, Any]) -> bool:
    raise AssertionError(f"attempts so far: {box['attempts']}")
