"""concurrency with keys: at most `limit` calls per key value, also shared across functions (scope env)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-keyed-concurrency"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["active"] = Counter()
    box["most"] = Counter()

    async def work(user: str) -> str:
        box["active"][user] += 1
        box["most"][user] = max(box["most"][user], box["active"][user])
        await asyncio.sleep(0.05)
        box["active"][user] -= 1
        return user

    def make(fn_id: str) -> inngest.Function[Any]:
        @client.create_function(
            fn_id=fn_id,
            concurrency=[
                inngest.Concurrency(limit=4),
                # Shared by both functions: one call per user across the environment.
                inngest.Concurrency(limit=1, key="event.data.user", scope="env"),
            ],
            trigger=inngest.TriggerEvent(event="case/keyed"),
        )
        async def fn(ctx: inngest.Context) -> str:
            user = str(ctx.event.data["user"])

            async def step() -> str:
                return await work(user)

            return await ctx.step.run("work", step)

        return fn

    return [make("first"), make("second")]


def check(ctx: CaseContext) -> None:
    ids = ctx.send_many("case/keyed", [{"user": u} for u in ("ana", "ana", "bo", "ana", "bo")])
    for event_id in ids:
        for run in _both_done(ctx, event_id):
            assert run["status"] == "Completed"
    assert ctx.box["most"]["ana"] == 1 and ctx.box["most"]["bo"] == 1


def _both_done(ctx: CaseContext, event_id: str) -> list[dict[str, Any]]:
    from tests.support import wait_for

    def done() -> list[dict[str, Any]]:
        runs = ctx.runs(event_id)
        assert len(runs) == 2 and all(r["status"] == "Completed" for r in runs), runs
        return runs

    return wait_for(done, timeout=ctx.patience(15))
