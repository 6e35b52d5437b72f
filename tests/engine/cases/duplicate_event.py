"""An event whose own id was seen in the last 24 h is stored but starts no run."""

from __future__ import annotations

from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-duplicate"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["calls"] = 0

    @client.create_function(fn_id="once", trigger=inngest.TriggerEvent(event="case/dup"))
    async def once(ctx: inngest.Context) -> str:
        box["calls"] += 1
        return ctx.event.id

    return [once]


def check(ctx: CaseContext) -> None:
    first = ctx.send("case/dup", {"n": 1}, id="request-42")
    second = ctx.send("case/dup", {"n": 2}, id="request-42")
    assert first != second  # each event still gets its own internal id
    run = ctx.wait_run(first, "Completed")
    assert run["output"] == "request-42"
    other = ctx.wait_run(ctx.send("case/dup", {"n": 3}, id="request-43"), "Completed")
    assert other["output"] == "request-43"
    assert ctx.runs(second) == []
    assert ctx.box["calls"] == 2
