"""NonRetriableError: the run fails after one attempt (500 + x-inngest-no-retry: true)."""

from __future__ import annotations

from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-non-retriable"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["calls"] = 0

    @client.create_function(
        fn_id="refuses", retries=3, trigger=inngest.TriggerEvent(event="case/non-retriable")
    )
    async def refuses(ctx: inngest.Context) -> None:
        box["calls"] += 1
        raise inngest.NonRetriableError("bad input, do not retry")

    return [refuses]


def check(ctx: CaseContext) -> None:
    run = ctx.wait_run(ctx.send("case/non-retriable"), "Failed")
    assert ctx.box["calls"] == 1
    # The output is the SDK's error body as sent (its `code` too).
    assert run["output"]["message"] == "bad input, do not retry"
    assert run["output"]["name"] == "NonRetriableError"
    assert run["output"]["code"] == "non_retriable_error"
