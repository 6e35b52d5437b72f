"""debounce (period, key): a burst of events per key starts one run, with the key's LAST event."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext
from tests.support import wait_for

APP_ID = "case-debounce"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="debounced",
        debounce=inngest.Debounce(period=datetime.timedelta(seconds=10), key="event.data.user"),
        trigger=inngest.TriggerEvent(event="case/debounce"),
    )
    async def debounced(ctx: inngest.Context) -> Any:
        return ctx.event.data

    return [debounced]


def check(ctx: CaseContext) -> None:
    ids = ctx.send_many(
        "case/debounce",
        [{"user": "ana", "n": 1}, {"user": "bo", "n": 1}, {"user": "ana", "n": 2}, {"user": "ana", "n": 3}],
    )
    ana_last, bo_last = ids[3], ids[1]
    assert ctx.wait_run(ana_last, "Completed", timeout=ctx.patience(10))["output"] == {"user": "ana", "n": 3}
    bo = ctx.wait_run(bo_last, "Completed", timeout=ctx.patience(10))
    assert bo["output"] == {"user": "bo", "n": 1}
    # The events the last one replaced start nothing.
    assert ctx.runs(ids[0]) == [] and ctx.runs(ids[2]) == []
    if ctx.host.kind == "engine":
        first = ctx.steps(ctx.runs(ana_last)[0]["run_id"])[0]
        assert (first["op"], first["status"], first["output"]["events"]) == ("Debounce", "Completed", 3)
        assert first["intended_delay_ms"] >= 10_000  # the period, in intended time
        decided = wait_for(lambda: _decided(ctx, ids[0]))
        assert decided["decision"] == "debounced" and decided["run_id"] == ctx.runs(ana_last)[0]["run_id"]


def _decided(ctx: CaseContext, event_id: str) -> dict[str, Any]:
    rows = ctx.flow(event_id)
    assert rows and rows[0]["run_id"], rows
    return rows[0]
