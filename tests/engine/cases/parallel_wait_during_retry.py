"""A group of a step that fails (retry after a day) and a wait: the wait's event arrives while
the step waits for its retry, and the function hears of it at once, not at the retry. On the
real server each opcode is a queue item of its own: the step's retry waits in the queue while
the resumed wait enqueues a call of the function now."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import inngest

from tests.engine.harness import CaseContext, wait_for

APP_ID = "case-wait-during-retry"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["attempts"] = 0

    def slow_to_retry() -> str:
        box["attempts"] += 1
        if box["attempts"] == 1:
            raise inngest.RetryAfterError("come back tomorrow", retry_after=timedelta(days=1))
        return "retried"

    async def wait_branch(ctx: inngest.Context) -> str | None:
        got = await ctx.step.wait_for_event(
            "go", event="case/wait-during-retry.go", timeout=timedelta(days=1)
        )
        # Runs on the first call that has the wait's event: how many attempts the step had then.
        box.setdefault("attempts_when_heard", box["attempts"])
        return got.name if got else None

    @client.create_function(
        fn_id="wait-during-retry",
        retries=2,
        cancel=[inngest.Cancel(event="case/wait-during-retry.stop")],
        trigger=inngest.TriggerEvent(event="case/wait-during-retry"),
    )
    async def wait_during_retry(ctx: inngest.Context) -> list[Any]:
        return list(
            await ctx.group.parallel((lambda: ctx.step.run("slow", slow_to_retry), lambda: wait_branch(ctx)))
        )

    return [wait_during_retry]


def check(ctx: CaseContext) -> None:
    event_id = ctx.send("case/wait-during-retry")
    wait_for(lambda: _at_least_one_attempt(ctx.box), timeout=ctx.patience(15))
    ctx.send("case/wait-during-retry.go")
    heard = wait_for(lambda: ctx.box["attempts_when_heard"], timeout=ctx.patience(15))
    assert heard == 1  # heard while the step still waited for its retry
    assert ctx.runs(event_id)[0]["status"] == "Running"
    ctx.send("case/wait-during-retry.stop")
    ctx.wait_run(event_id, "Cancelled")


def _at_least_one_attempt(box: dict[str, Any]) -> None:
    assert box["attempts"] >= 1, box
