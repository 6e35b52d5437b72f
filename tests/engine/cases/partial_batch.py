"""A body with a bad event: the events before it are stored and run, and their ids come back."""

from __future__ import annotations

from typing import Any

import inngest
import pytest
from inngest._internal.errors import SendEventsError  # not exported by inngest 0.5.19

from tests.engine.harness import CaseContext

APP_ID = "case-partial-batch"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="counted", trigger=inngest.TriggerEvent(event="case/counted"))
    async def counted(ctx: inngest.Context) -> int:
        return int(ctx.event.data["n"])

    return [counted]


def check(ctx: CaseContext) -> None:
    events = [
        inngest.Event(name="case/counted", data={"n": 1}),
        inngest.Event(name="inngest/not-allowed", data={}),
        inngest.Event(name="case/counted", data={"n": 3}),
    ]
    with pytest.raises(SendEventsError) as info:
        ctx.client.send_sync(events)
    (kept,) = info.value.ids
    run = ctx.wait_run(kept, "Completed")
    assert run["output"] == 1
