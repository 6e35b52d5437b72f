"""idempotency: an event whose key already started a run in the last 24 h starts none.

The server runs the option as a rate limit of 1 per 24 h (pkg/sdk/function.go): the repeated
event is stored and lists no run. The engine also says why, where it says flow control's
other drops: the event's flow log (`/v1/events/{id}/flow`) and the dashboard's event list.
"""

from __future__ import annotations

from typing import Any

import httpx
import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-idempotency"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="charge",
        idempotency="event.data.order",
        trigger=inngest.TriggerEvent(event="case/idempotency"),
    )
    async def charge(ctx: inngest.Context) -> str:
        return f"charged {ctx.event.data['order']}"

    return [charge]


def check(ctx: CaseContext) -> None:
    first, again, other = ctx.send_many(
        "case/idempotency", [{"order": "A-1"}, {"order": "A-1"}, {"order": "B-2"}]
    )
    assert ctx.wait_run(first, "Completed")["output"] == "charged A-1"
    assert ctx.wait_run(other, "Completed")["output"] == "charged B-2"
    assert ctx.runs(again) == []  # the repeat started nothing
    if ctx.host.kind == "engine":
        (said,) = ctx.flow(again)
        assert (said["decision"], said["key"], said["run_id"]) == ("idempotent", '"A-1"', None)
        assert "already started a run in the last 24 h" in said["detail"]
        assert ctx.flow(first) == []
        home = httpx.get(f"{ctx.host.url}/", timeout=10).text
        row = next(line for line in home.split("<tr>") if again in line)
        assert "case-idempotency-charge: <span class='idempotent'>idempotent</span>" in row
