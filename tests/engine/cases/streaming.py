"""Forced streaming (`streaming=inngest.Streaming.FORCE`, `INNGEST_STREAMING=force`): the SDK
answers every call 201 at once, sends spaces while the function runs, then the reply it would
have sent wrapped as `{"status", "headers", "body"}`. The engine reads it as the Dev Server does
(httpdriver.ParseStream): steps are memoized, a wrapped 500 is retried, the output is the
wrapped body's."""

from __future__ import annotations

import asyncio
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-streaming"
SERVE = {"streaming": inngest.Streaming.FORCE}
ENGINE = {"time_scale": 0.01}  # the retry's backoff


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["attempts"] = 0

    async def slow() -> str:
        await asyncio.sleep(0.2)  # the SDK streams a space or more before the reply
        return "slow done"

    async def flaky() -> str:
        box["attempts"] += 1
        if box["attempts"] == 1:
            raise RuntimeError("first attempt fails")
        return "flaky done"

    @client.create_function(fn_id="streamed", retries=2, trigger=inngest.TriggerEvent(event="case/streamed"))
    async def streamed(ctx: inngest.Context) -> dict[str, str]:
        first = await ctx.step.run("slow", slow)
        second = await ctx.step.run("flaky", flaky)
        return {"first": first, "second": second}

    return [streamed]


def check(ctx: CaseContext) -> None:
    run = ctx.wait_run(ctx.send("case/streamed"), "Completed", timeout=ctx.patience(15))
    assert run["output"] == {"first": "slow done", "second": "flaky done"}
    assert ctx.box["attempts"] == 2
    if ctx.host.kind == "engine":
        rows = [(s["name"], s["status"]) for s in ctx.steps(run["run_id"]) if s["name"] != "function"]
        assert (
            ("flaky", "Retrying") in rows and ("flaky", "Completed") in rows and ("slow", "Completed") in rows
        )
