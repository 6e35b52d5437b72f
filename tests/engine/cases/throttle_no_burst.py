"""throttle without `burst`: `limit` runs start at once, not `limit + 1`.

The server fills in no default burst (pkg/inngest/function.go leaves it 0; its
tests/golang/throttle_test.go "single limit" asserts starts a period apart). Its queue
admits `limit + burst` at once, then one start per `period / limit`. inngest-py sends
`burst: 1` unless told otherwise; the TypeScript and Go SDKs send none: `burst=None` here
leaves it out of the sync, as they do.
"""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext
from tests.support import wait_for

APP_ID = "case-throttle-no-burst"
PAUSED_CLOCK = True


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["started"] = []

    @client.create_function(
        fn_id="throttled-without-burst",
        throttle=inngest.Throttle(limit=2, period=datetime.timedelta(seconds=60), burst=None),
        trigger=inngest.TriggerEvent(event="case/throttle-no-burst"),
    )
    async def throttled(ctx: inngest.Context) -> int:
        box["started"].append(ctx.event.data["i"])  # no steps: one call per run
        return int(ctx.event.data["i"])

    return [throttled]


def check(ctx: CaseContext) -> None:
    ids = ctx.send_many("case/throttle-no-burst", [{"i": i} for i in range(3)])
    if ctx.host.kind == "engine":
        # The clock stands still: two start (the limit), the third waits for the throttle.
        wait_for(lambda: _statuses(ctx, ids, ["Completed", "Completed", "Throttled"]), timeout=10)
        assert sorted(ctx.box["started"]) == [0, 1]
        ctx.advance(30)  # one start per period / limit
    runs = [ctx.wait_run(event_id, "Completed", timeout=ctx.patience(20)) for event_id in ids]
    assert sorted(r["output"] for r in runs) == [0, 1, 2]


def _statuses(ctx: CaseContext, ids: list[str], want: list[str]) -> None:
    seen = []
    for event_id in ids:
        (run,) = ctx.runs(event_id)
        throttle = [s["status"] for s in ctx.steps(run["run_id"]) if s["op"] == "Throttle"]
        seen.append(throttle[-1] if throttle else run["status"])
    assert sorted(seen) == sorted(want), seen
