"""An `env`-scoped and an `account`-scoped concurrency limit with the same key are two limits.

The real queue keys them `e:<env id>:<hash of the value>` and `a:<account id>:<hash>`
(pkg/util ConcurrencyKey), so one of each, limit 1, lets two calls for the same user run
at once: one in each function.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import inngest

from tests.engine.harness import CaseContext
from tests.support import wait_for, wait_until

APP_ID = "case-concurrency-scopes"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["inside"] = set()
    box["release"] = threading.Event()  # set by the test, from its own thread

    def make(scope: str) -> inngest.Function[Any]:
        @client.create_function(
            fn_id=f"per-user-{scope}",
            concurrency=[inngest.Concurrency(limit=1, key="event.data.user", scope=scope)],
            trigger=inngest.TriggerEvent(event="case/scopes"),
        )
        async def fn(ctx: inngest.Context) -> str:
            async def step() -> str:
                box["inside"].add(scope)
                await asyncio.to_thread(box["release"].wait, 60)
                return scope

            return await ctx.step.run("work", step)

        return fn

    return [make("env"), make("account")]


def check(ctx: CaseContext) -> None:
    event_id = ctx.send("case/scopes", {"user": "ana"})
    try:
        # Both functions' calls are in their step together: neither limit holds the other back.
        wait_until(lambda: ctx.box["inside"] == {"env", "account"}, timeout=ctx.patience(15))
    finally:
        ctx.box["release"].set()

    def done() -> list[dict[str, Any]]:
        runs = ctx.runs(event_id)
        assert len(runs) == 2 and all(r["status"] == "Completed" for r in runs), runs
        return runs

    wait_for(done, timeout=ctx.patience(15))
