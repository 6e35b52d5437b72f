"""ParallelMode.RACE: a branch moves on to its next step while another branch still runs.

Branch A is two steps (a1, a2); branch B is one slow step b1 that finishes only once a2 has
run (or gives up after a while). In wait mode a2 would be planned only after b1 ends, so b1
gives up; in race mode the function is called again as soon as a1 is done, and a2 runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-parallel-race"
B1_PATIENCE_S = 20.0


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    a2_ran = asyncio.Event()

    async def a2() -> str:
        a2_ran.set()
        return "a2"

    async def b1() -> str:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(a2_ran.wait(), B1_PATIENCE_S)
        return "b1 after a2" if a2_ran.is_set() else "b1 gave up"

    @client.create_function(fn_id="race", retries=0, trigger=inngest.TriggerEvent(event="case/race"))
    async def race(ctx: inngest.Context) -> list[str]:
        async def branch_a() -> str:
            first = await ctx.step.run("a1", lambda: "a1")
            second = await ctx.step.run("a2", a2)
            return f"{first}+{second}"

        return list(
            await ctx.group.parallel(
                (branch_a, lambda: ctx.step.run("b1", b1)),
                parallel_mode=inngest.ParallelMode.RACE,
            )
        )

    return [race]


def check(ctx: CaseContext) -> None:
    run = ctx.wait_run(ctx.send("case/race"), "Completed", timeout=B1_PATIENCE_S + 15)
    assert run["output"] == ["a1+a2", "b1 after a2"]
