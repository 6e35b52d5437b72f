"""A group of a step that fails (retry after 10 s) and a wait: the wait's event arrives while the
step waits for its retry. When the function hears of it depends on the group's mode, as on the
Dev Server at request version 2 (the Python SDK's; pkg/execution/executor, SavePending and
shouldEnqueueDiscovery):

- wait mode (the default): the resumed wait is saved, but a step of the group is still pending,
  so no call is made; the function hears of the event with the step's retry result;
- race mode: every finished step or pause enqueues a call at once, so the function hears of it
  while the step still waits for its retry.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import inngest

from tests.engine.harness import CaseContext, wait_for

APP_ID = "case-wait-during-retry"
PAUSED_CLOCK = True  # the check moves the engine's time past the step's retry itself


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    def make(mode: str, parallel_mode: inngest.ParallelMode) -> inngest.Function[Any]:
        box[f"{mode}.attempts"] = 0

        def slow_to_retry() -> str:
            box[f"{mode}.attempts"] += 1
            if box[f"{mode}.attempts"] == 1:
                raise inngest.RetryAfterError("come back later", retry_after=timedelta(seconds=10))
            return "retried"

        async def wait_branch(ctx: inngest.Context) -> str | None:
            got = await ctx.step.wait_for_event(
                "go", event=f"case/wait-during-retry.{mode}.go", timeout=timedelta(days=1)
            )
            # Runs on the first call that has the wait's event: how many attempts the step had then.
            box.setdefault(f"{mode}.heard", box[f"{mode}.attempts"])
            return got.name if got else None

        @client.create_function(
            fn_id=f"wait-during-retry-{mode}",
            retries=2,
            trigger=inngest.TriggerEvent(event=f"case/wait-during-retry.{mode}"),
        )
        async def fn(ctx: inngest.Context) -> list[Any]:
            branches = (lambda: ctx.step.run("slow", slow_to_retry), lambda: wait_branch(ctx))
            return list(await ctx.group.parallel(branches, parallel_mode=parallel_mode))

        return fn

    return [make("wait", inngest.ParallelMode.WAIT), make("race", inngest.ParallelMode.RACE)]


def check(ctx: CaseContext) -> None:
    events = {mode: ctx.send(f"case/wait-during-retry.{mode}") for mode in ("wait", "race")}
    for mode in events:
        wait_for(lambda mode=mode: _attempted(ctx.box, mode), timeout=ctx.patience(15))
        ctx.send(f"case/wait-during-retry.{mode}.go")
    # Race mode: heard at once, while the step still waits for its retry.
    assert wait_for(lambda: ctx.box["race.heard"], timeout=ctx.patience(15)) == 1
    if ctx.host.kind == "engine":
        ctx.wait_step(ctx.runs(events["wait"])[0]["run_id"], "go", "Completed")
    ctx.advance(60)  # past the step's retry (Retry-After is 10 s of the app's wall clock)
    for mode, event_id in events.items():
        run = ctx.wait_run(event_id, "Completed", timeout=ctx.patience(15))
        assert run["output"] == ["retried", f"case/wait-during-retry.{mode}.go"]
    # Wait mode: heard only with the step's retry result, not when the event came.
    assert ctx.box["wait.heard"] == 2


def _attempted(box: dict[str, Any], mode: str) -> None:
    assert box[f"{mode}.attempts"] >= 1, box
