"""debounce: the run starts 1.05 s after the period, as on the server.

The server enqueues a debounce's job at `now + period + 50 ms + 1 s` (pkg/execution/debounce:
a buffer so that no start races the debounce's expiry, and a second for an update at TTL 0).
"""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-debounce-lag"
PAUSED_CLOCK = True


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="debounced-lag",
        debounce=inngest.Debounce(period=datetime.timedelta(seconds=10)),
        trigger=inngest.TriggerEvent(event="case/debounce-lag"),
    )
    async def debounced(ctx: inngest.Context) -> Any:
        return ctx.event.data["n"]

    return [debounced]


def check(ctx: CaseContext) -> None:
    event_id = ctx.send("case/debounce-lag", {"n": 1})
    ctx.advance(10)  # the period is over; the run is due 1.05 s later
    ctx.advance(1.1)
    run = ctx.wait_run(event_id, "Completed", timeout=ctx.patience(15))
    assert run["output"] == 1
    if ctx.host.kind == "engine":
        (held,) = [s for s in ctx.steps(run["run_id"]) if s["op"] == "Debounce"]
        # The timeline keeps the due time, not when the timer woke: exactly 10 s + 1.05 s.
        assert held["intended_delay_ms"] == 11_050
