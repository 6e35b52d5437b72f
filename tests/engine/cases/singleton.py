"""singleton (key; mode skip or cancel): one run at a time per key."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-singleton"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    async def hold(ctx: inngest.Context) -> Any:
        # Waiting keeps the run active (Running) until the test sends the release event.
        await ctx.step.wait_for_event(
            "hold", event="case/singleton.release", timeout=datetime.timedelta(hours=1)
        )
        return ctx.event.data

    @client.create_function(
        fn_id="skipper",
        singleton=inngest.Singleton(key="event.data.user", mode="skip"),
        trigger=inngest.TriggerEvent(event="case/singleton.skip"),
    )
    async def skipper(ctx: inngest.Context) -> Any:
        return await hold(ctx)

    @client.create_function(
        fn_id="replacer",
        singleton=inngest.Singleton(key="event.data.user", mode="cancel"),
        trigger=inngest.TriggerEvent(event="case/singleton.cancel"),
    )
    async def replacer(ctx: inngest.Context) -> Any:
        return await hold(ctx)

    return [skipper, replacer]


def check(ctx: CaseContext) -> None:
    first = ctx.send("case/singleton.skip", {"user": "ana", "n": 1})
    ctx.wait_run(first, "Running")
    second = ctx.send("case/singleton.skip", {"user": "ana", "n": 2})  # skipped: ana's run is active
    other = ctx.send("case/singleton.skip", {"user": "bo", "n": 1})  # another key: runs
    ctx.wait_run(other, "Running")

    old = ctx.send("case/singleton.cancel", {"user": "ana", "n": 1})
    ctx.wait_run(old, "Running")
    new = ctx.send("case/singleton.cancel", {"user": "ana", "n": 2})
    ctx.wait_run(old, "Cancelled")  # the running one makes way
    ctx.wait_run(new, "Running")

    ctx.send("case/singleton.release")
    assert ctx.wait_run(first, "Completed")["output"] == {"user": "ana", "n": 1}
    assert ctx.wait_run(other, "Completed")["output"] == {"user": "bo", "n": 1}
    assert ctx.wait_run(new, "Completed")["output"] == {"user": "ana", "n": 2}
    # The skipped event started no run: the server lists none for it (a span, no function run).
    assert ctx.runs(second) == []
    if ctx.host.kind == "engine":
        (decided,) = ctx.flow(second)  # where the engine says why, with the run it recorded
        assert decided["decision"] == "skipped" and decided["run_id"]
        assert ctx.run(decided["run_id"])["status"] == "Skipped"
        row = ctx.steps(decided["run_id"])[0]
        assert (row["op"], row["status"]) == ("Singleton", "Skipped")
        assert ctx.runs(first)[0]["run_id"] in row["output"]["reason"]
        replaced = ctx.steps(ctx.runs(old)[0]["run_id"])[-1]
        assert (replaced["op"], replaced["status"]) == ("Singleton", "Cancelled")
        assert f"replaced by a newer run (event {new}" in replaced["output"]["reason"]
