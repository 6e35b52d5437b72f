"""rateLimit (limit, period, key): events over the limit are dropped: no run at all."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-rate-limit"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="limited",
        rate_limit=inngest.RateLimit(limit=1, period=datetime.timedelta(hours=1), key="event.data.user"),
        trigger=inngest.TriggerEvent(event="case/rate-limit"),
    )
    async def limited(ctx: inngest.Context) -> Any:
        return ctx.event.data

    return [limited]


def check(ctx: CaseContext) -> None:
    ids = ctx.send_many(
        "case/rate-limit",
        [{"user": "ana", "n": 1}, {"user": "ana", "n": 2}, {"user": "bo", "n": 1}, {"user": "ana", "n": 3}],
    )
    assert ctx.wait_run(ids[0], "Completed")["output"] == {"user": "ana", "n": 1}
    assert ctx.wait_run(ids[2], "Completed")["output"] == {"user": "bo", "n": 1}  # its own key
    assert ctx.runs(ids[1]) == [] and ctx.runs(ids[3]) == []
    if ctx.host.kind == "engine":
        dropped = ctx.flow(ids[1])
        assert [(d["decision"], d["key"], d["run_id"]) for d in dropped] == [("rate_limited", "ana", None)]
