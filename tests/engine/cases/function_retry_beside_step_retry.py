"""The function's own call fails and waits for its retry while a step of its group retries
sooner and fails again: each retry is kept and fires at its own time, as on the real server,
where the function's call and the step are queue items of their own, each retried with its own
backoff. (The engine used to drop the function's retry here; the function was only called
again when the step succeeded or failed for good.)

A group of a step that fails with retry-after 1 s until the function's retry has been seen,
and a wait, in race mode: at request version 2 (the Python SDK's) the Dev Server calls the
function while a step of a group is pending only in race mode (in wait mode it waits for the
step, so the function's call cannot fail beside the step's retry; parallel_wait_during_retry.py).
Once the wait's event arrives, the call that hears of it (attempt 0) fails once with
retry-after 5 s; its retry (attempt 1) comes while the step still retries every second.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import inngest

from tests.engine.harness import CaseContext, wait_for

APP_ID = "case-function-retry-beside-step-retry"
# Half speed: the step's 20 retries half a second apart give the test 10 s to send the wait's
# event (at the tests' usual scale, 0.2 s: a loaded machine missed it). The clock cannot be
# moved on instead: Retry-After comes from the SDK as a wall-clock time.
ENGINE = {"time_scale": 0.5}


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["a_calls"] = 0

    def flaky() -> str:
        box["a_calls"] += 1
        if not box.get("fn_retried"):
            raise inngest.RetryAfterError("not yet", retry_after=timedelta(seconds=1))
        return "a ok"

    async def wait_branch(ctx: inngest.Context) -> str | None:
        got = await ctx.step.wait_for_event("go", event="case/fn-retry.go", timeout=timedelta(days=1))
        return got.name if got else None

    @client.create_function(fn_id="fn-retry", retries=20, trigger=inngest.TriggerEvent(event="case/fn-retry"))
    async def fn_retry(ctx: inngest.Context) -> list[Any]:
        # Every call runs this part first. After the release, calls at attempt 0 are the
        # function's own (the step's first attempt came before); the step's calls at attempt
        # 1 see one step call made, so a call at attempt 1 after more is the function's retry.
        if box.get("released") and ctx.attempt == 0 and not box.get("raised"):
            box["raised"] = True
            raise inngest.RetryAfterError("the function's call fails once", retry_after=timedelta(seconds=5))
        if box.get("raised") and ctx.attempt == 1 and box["a_calls"] >= 2:
            box["fn_retried"] = box["a_calls"]
        return list(
            await ctx.group.parallel(
                (lambda: ctx.step.run("a", flaky), lambda: wait_branch(ctx)),
                parallel_mode=inngest.ParallelMode.RACE,
            )
        )

    return [fn_retry]


def check(ctx: CaseContext) -> None:
    event_id = ctx.send("case/fn-retry")
    wait_for(lambda: _step_called(ctx.box), timeout=ctx.patience(15))
    ctx.box["released"] = True
    ctx.send("case/fn-retry.go")
    run = ctx.wait_run(event_id, "Completed", timeout=60)
    assert run["output"] == ["a ok", "case/fn-retry.go"], run
    # The function's retry came while the step was still retrying (far from its 21 attempts).
    assert 2 <= ctx.box["fn_retried"] < 21
    assert ctx.box["a_calls"] == ctx.box["fn_retried"] + 1


def _step_called(box: dict[str, Any]) -> None:
    assert box["a_calls"] >= 1
