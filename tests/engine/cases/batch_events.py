"""batchEvents (maxSize, timeout): one run gets many events as ctx.events; event = the first."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-batch"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="batched",
        batch_events=inngest.Batch(max_size=3, timeout=datetime.timedelta(seconds=5)),
        trigger=inngest.TriggerEvent(event="case/batch"),
    )
    async def batched(ctx: inngest.Context) -> Any:
        return {"first": ctx.event.data["i"], "all": [e.data["i"] for e in ctx.events]}

    return [batched]


def check(ctx: CaseContext) -> None:
    # Three events fill the batch: it runs at once, with all three.
    full = ctx.send_many("case/batch", [{"i": 1}, {"i": 2}, {"i": 3}])
    run = ctx.wait_run(full[0], "Completed", timeout=ctx.patience(10))
    assert run["output"] == {"first": 1, "all": [1, 2, 3]}
    # A lone event waits for the timeout, then runs alone.
    lone = ctx.send("case/batch", {"i": 4})
    late = ctx.wait_run(lone, "Completed", timeout=ctx.patience(10))
    assert late["output"] == {"first": 4, "all": [4]}
    if ctx.host.kind == "engine":
        assert ctx.runs(full[1]) == []  # the run hangs off the batch's first event
        assert [f["run_id"] for f in ctx.flow(full[2])] == [run["run_id"]]
        rows = ctx.steps(late["run_id"])
        assert rows[0]["op"] == "Batch" and rows[0]["output"] == {"events": 1, "key": "", "reason": "timeout"}
        assert ctx.steps(run["run_id"])[0]["output"]["reason"] == "full"
