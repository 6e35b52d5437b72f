"""CEL beyond comparisons: a trigger with a macro and a string function, a wait whose `if`
uses `startsWith` across `async` and `event`; events missing the fields simply do not match."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-cel"
# The wait's 5 minutes would be 3 s of real time at the tests' scale; on a stopped clock
# it lasts until the matching event, however slow the machine.
PAUSED_CLOCK = True


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="vip",
        trigger=inngest.TriggerEvent(
            event="case/cel.order",
            expression="event.data.tags.exists(t, t == 'vip') && event.data.customer.startsWith('A')",
        ),
    )
    async def vip(ctx: inngest.Context) -> Any:
        paid = await ctx.step.wait_for_event(
            "paid",
            event="case/cel.paid",
            if_exp="async.data.ref.startsWith(event.data.order) && size(async.data.ref) > 3",
            timeout=datetime.timedelta(minutes=5),
        )
        return {"paid_ref": None if paid is None else paid.data["ref"]}

    return [vip]


def check(ctx: CaseContext) -> None:
    no_tag = ctx.send("case/cel.order", {"customer": "Ann", "order": "o1"})  # tags missing
    not_a = ctx.send("case/cel.order", {"customer": "Bob", "order": "o2", "tags": ["vip"]})
    hit = ctx.send("case/cel.order", {"customer": "Ann", "order": "o3", "tags": ["new", "vip"]})
    run = ctx.wait_run(hit, "Running")
    assert ctx.runs(no_tag) == [] and ctx.runs(not_a) == []
    if ctx.host.kind == "engine":
        ctx.wait_step(run["run_id"], "paid", "Waiting")
    ctx.send("case/cel.paid", {"other": "no ref field"})  # missing field: no match, no crash
    ctx.send("case/cel.paid", {"ref": "o2-1"})  # wrong order
    ctx.send("case/cel.paid", {"ref": "o3-7"})
    done = ctx.wait_run(hit, "Completed")
    assert done["output"] == {"paid_ref": "o3-7"}
