"""step.invoke of a rate-limited function: the real server schedules the invoked event like any
other, so the child's `rateLimit` applies; over the limit no child run starts and the invoking
step fails with the runner's error `{"name": "Error", "message": "invoked function is rate
limited"}` (its InvokeFailHandler sends an `inngest/function.finished` with that error, no run).
The function's `idempotency` is a rate limit of 1 per 24 h there, so a repeated key fails alike.
A function that is not registered fails the step with the runner's `could not find function
with ID: <id>` (FindInvokedFunction, through the same handler).
"""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-invoke-rate-limited"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="limited",
        rate_limit=inngest.RateLimit(limit=1, period=datetime.timedelta(hours=1)),
        trigger=inngest.TriggerEvent(event="case/limited-direct"),
    )
    async def limited(ctx: inngest.Context) -> str:
        return f"limited ran for {ctx.event.data['n']}"

    @client.create_function(
        fn_id="once",
        idempotency="event.data.key",
        trigger=inngest.TriggerEvent(event="case/once-direct"),
    )
    async def once(ctx: inngest.Context) -> str:
        return f"once ran for {ctx.event.data['key']}"

    async def attempt(
        ctx: inngest.Context, step_id: str, fn: inngest.Function[Any], data: dict[str, Any]
    ) -> Any:
        try:
            return await ctx.step.invoke(step_id, function=fn, data=data)
        except inngest.StepError as err:
            return {"error": err.name, "message": err.message}

    @client.create_function(
        fn_id="parent", retries=0, trigger=inngest.TriggerEvent(event="case/invoke-limited")
    )
    async def parent(ctx: inngest.Context) -> list[Any]:
        return [
            await attempt(ctx, "first", limited, {"n": 1}),
            await attempt(ctx, "second", limited, {"n": 2}),
            await attempt(ctx, "once-a", once, {"key": "k"}),
            await attempt(ctx, "once-b", once, {"key": "k"}),
            await attempt(ctx, "unknown", unknown, {}),
        ]

    # Invoked by id but not served by the app: the runner finds no such function.
    unknown = client.create_function(fn_id="not-served", trigger=inngest.TriggerEvent(event="case/never"))(
        _never
    )

    return [limited, once, parent]


async def _never(ctx: inngest.Context) -> None:
    return None


def check(ctx: CaseContext) -> None:
    run = ctx.wait_run(ctx.send("case/invoke-limited"), "Completed", timeout=30)
    refused = {"error": "Error", "message": "invoked function is rate limited"}
    missing = {"error": "Error", "message": f"could not find function with ID: {APP_ID}-not-served"}
    assert run["output"] == ["limited ran for 1", refused, "once ran for k", refused, missing], run
    if ctx.host.kind == "engine":
        steps = {s["name"]: s for s in ctx.steps(run["run_id"]) if s["op"] == "InvokeFunction"}
        assert steps["second"]["status"] == "Failed" and steps["once-b"]["status"] == "Failed"
