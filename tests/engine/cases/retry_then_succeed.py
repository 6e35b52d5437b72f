"""A step that fails twice is retried with backoff and succeeds on the third attempt."""

from __future__ import annotations

from typing import Any

import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-retry"


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["attempts"] = []

    def flaky() -> str:
        box["attempts"].append(len(box["attempts"]))
        if len(box["attempts"]) < 3:
            raise ValueError(f"flaky failure {len(box['attempts'])}")
        return "ok"

    @client.create_function(fn_id="flaky", retries=3, trigger=inngest.TriggerEvent(event="case/retry"))
    async def flaky_fn(ctx: inngest.Context) -> dict[str, Any]:
        result = await ctx.step.run("flaky-step", flaky)
        return {"result": result, "attempt": ctx.attempt}

    return [flaky_fn]


def check(ctx: CaseContext) -> None:
    run = ctx.wait_run(ctx.send("case/retry"), "Completed", timeout=ctx.patience(10))
    assert run["output"]["result"] == "ok"
    assert ctx.box["attempts"] == [0, 1, 2]
    if ctx.host.kind == "engine":
        rows = [s for s in ctx.steps(run["run_id"]) if s["name"] == "flaky-step"]
        assert [(r["attempt"], r["status"]) for r in rows] == [
            (0, "Retrying"),
            (1, "Retrying"),
            (2, "Completed"),
        ]
        assert rows[0]["error"]["name"] == "ValueError"
        assert rows[0]["intended_delay_ms"] >= 10_000  # backoff in intended time
