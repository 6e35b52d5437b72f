"""step.invoke: the child runs from an inngest/function.invoked event; its output comes back.

The child's `inngest/function.finished` carries the invoke's correlation id
(`data.correlation_id` = `<parent run id>.<step id>`, from the invoked event's
`data._inngest.correlation_id`) and `data._inngest.status`, as the real server's finalize
sends them; a run started by a finish event sends no finish event of its own.
"""

from __future__ import annotations

from typing import Any

import inngest

from tests.engine.harness import CaseContext
from tests.support import wait_for

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

    @client.create_function(
        fn_id="watcher",
        trigger=inngest.TriggerEvent(
            event="inngest/function.finished", expression="event.data.function_id == 'case-invoke-child'"
        ),
    )
    async def watcher(ctx: inngest.Context) -> str:
        box["finished"] = dict(ctx.event.data)
        return "seen"

    return [child, parent, watcher]


def check(ctx: CaseContext) -> None:
    run = ctx.wait_run(ctx.send("case/invoke", {"x": 21}), "Completed")
    assert run["output"] == {"child": {"doubled": 42}}
    assert ctx.box["child_event"] == "inngest/function.invoked"
    finished = wait_for(lambda: ctx.box["finished"], timeout=ctx.patience(10))
    assert finished["correlation_id"].startswith(run["run_id"] + ".")
    assert finished["_inngest"] == {"status": "Completed"} and finished["result"] == {"doubled": 42}
    if ctx.host.kind == "engine":
        child_finished = next(
            e for e in _finish_events(ctx) if e["data"]["function_id"] == "case-invoke-child"
        )
        ctx.wait_run(child_finished["internal_id"], "Completed")  # the watcher's run
        # Started by a finish event, the watcher's run sends none of its own.
        assert "case-invoke-watcher" not in [e["data"]["function_id"] for e in _finish_events(ctx)]


def _finish_events(ctx: CaseContext) -> list[dict[str, Any]]:
    with ctx.host.rest() as rest:
        resp = rest.get("/v1/events", params={"name": "inngest/function.finished", "limit": 50})
        resp.raise_for_status()
        return list(resp.json()["data"])
