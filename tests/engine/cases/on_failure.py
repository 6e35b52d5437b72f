"""on_failure: when retries run out, inngest/function.failed starts the failure handler."""

from __future__ import annotations

from typing import Any

import inngest

from tests.engine.harness import CaseContext, wait_for

APP_ID = "case-failure"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["calls"] = 0

    async def handler(ctx: inngest.Context) -> str:
        box["failure_event"] = {"name": ctx.event.name, "data": dict(ctx.event.data)}
        return "handled"

    @client.create_function(
        fn_id="with-failure", retries=1, on_failure=handler, trigger=inngest.TriggerEvent(event="case/fail")
    )
    async def with_failure(ctx: inngest.Context) -> None:
        box["calls"] += 1
        raise ValueError("always broken")

    return [with_failure]


def check(ctx: CaseContext) -> None:
    event_id = ctx.send("case/fail", {"order": 9})
    run = ctx.wait_run(event_id, "Failed", timeout=ctx.patience(10))
    assert ctx.box["calls"] == 2  # retries=1: two attempts
    failure = wait_for(lambda: ctx.box["failure_event"], timeout=10)
    assert failure["name"] == "inngest/function.failed"
    data = failure["data"]
    assert data["function_id"] == "case-failure-with-failure"
    assert data["run_id"] == run["run_id"]
    # The Dev Server's shape: its own error text, the SDK's name and message, a stack; no `code`.
    assert set(data["error"]) == {"error", "name", "message", "stack"}
    assert data["error"]["error"] == "invalid status code: 500"
    assert data["error"]["name"] == "ValueError"
    assert data["error"]["message"] == "always broken"
    assert data["event"]["data"] == {"order": 9}
    assert isinstance(data["events"], list)
    assert data["_inngest"]["status"] == "Failed"
