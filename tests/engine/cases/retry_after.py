"""RetryAfterError: the engine waits until the time the app named, not its own backoff."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-retry-after"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["calls"] = 0

    @client.create_function(fn_id="busy", trigger=inngest.TriggerEvent(event="case/retry-after"))
    async def busy(ctx: inngest.Context) -> str:
        box["calls"] += 1
        if ctx.attempt == 0:
            raise inngest.RetryAfterError("busy, come back later", retry_after=datetime.timedelta(seconds=3))
        return "done"

    return [busy]


def check(ctx: CaseContext) -> None:
    run = ctx.wait_run(ctx.send("case/retry-after"), "Completed", timeout=ctx.patience(10))
    assert run["output"] == "done"
    assert ctx.box["calls"] == 2
    if ctx.host.kind == "engine":
        first = ctx.steps(run["run_id"])[0]
        assert first["status"] == "Retrying"
        # From retry-after, not the 15 s backoff; the SDK sends a wake time, so the app-to-engine
        # lag (long on a loaded machine) comes off the low end.
        assert 500 <= first["intended_delay_ms"] <= 3_100
