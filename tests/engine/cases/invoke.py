"""step.invoke: the child runs from an inngest/function.invoked event; its output comes back."""

from __future__ import annotations

from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-invoke"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="child", trigger=inngest.TriggerEvent(event="case/child-direct"))
    async def child(ctx: inngest.Context) -> dict[str, Any]:
        box["child_event"] = ctx.event.name
        return {"doubled": ctx.event.data["x"] * 2}

    @client.create_function(fn_id="parent", trigger=inngest.TriggerEvent(event="case/invoke"))
    async def parent(ctx: inngest.Context) -> Any:
        out = await ctx.step.invoke("call-child", function=child, data={"x": ctx.event.data["x"]})
        return {"child": out}

    return [child, parent]


def check(ctx: CaseContext) -> None:
    run = ctx.wait_run(ctx.send("case/invoke", {"x": 21}), "Completed")
    assert run["output"] == {"child": {"doubled": 42}}
    assert ctx.box["child_event"] == "inngest/function.invoked"
