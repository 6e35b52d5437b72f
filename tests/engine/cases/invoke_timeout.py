"""An invoke whose child does not finish in time fails in the parent with the Dev Server's error.

The engine memoizes `InngestInvokeTimeoutError` for the invoke step; the SDK raises it in the
parent and, uncaught, answers with it (`code: step_errored`, `stack: null`), which becomes the
run's output (as inngest-py's own tests against the Dev Server expect).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-invoke-timeout"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="slow-child", trigger=inngest.TriggerEvent(event="case/slow-child"))
    async def slow_child(ctx: inngest.Context) -> str:
        await ctx.step.sleep("long-nap", timedelta(hours=1))
        return "too late"

    @client.create_function(
        fn_id="impatient", retries=0, trigger=inngest.TriggerEvent(event="case/invoke-timeout")
    )
    async def impatient(ctx: inngest.Context) -> Any:
        try:
            return await ctx.step.invoke(
                "call-slow", function=slow_child, data={}, timeout=timedelta(seconds=1)
            )
        except inngest.StepError as err:
            box["raised"] = err.name
            raise

    return [slow_child, impatient]


def check(ctx: CaseContext) -> None:
    run = ctx.wait_run(ctx.send("case/invoke-timeout"), "Failed")
    assert ctx.box["raised"] == "InngestInvokeTimeoutError"
    assert run["output"] == {
        "code": "step_errored",
        "message": "Timed out waiting for invoked function to complete",
        "name": "InngestInvokeTimeoutError",
        "stack": None,
    }
