"""Signed (cloud) mode: the engine signs calls and the app, in production mode, accepts them.

Unsigned calls to the app and unauthenticated calls to the engine are refused.
"""

from __future__ import annotations

from typing import Any

import httpx
import inngest

from tests.engine.harness import CaseContext

APP_ID = "case-signed"
SIGNED = True


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="signed", trigger=inngest.TriggerEvent(event="case/signed"))
    async def signed(ctx: inngest.Context) -> str:
        return await ctx.step.run("hello", lambda: "hello from a signed call")

    return [signed]


def check(ctx: CaseContext) -> None:
    run = ctx.wait_run(ctx.send("case/signed"), "Completed")
    assert run["output"] == "hello from a signed call"
    body = {
        "event": {"name": "case/signed", "data": {}},
        "events": [],
        "steps": {},
        "use_api": False,
        "ctx": {"run_id": "x", "attempt": 0, "disable_immediate_execution": False, "stack": {}},
    }
    unsigned = httpx.post(f"{ctx.app_url}?fnId=case-signed-signed&stepId=step", json=body)
    assert unsigned.status_code == 401
    forged = httpx.post(
        f"{ctx.app_url}?fnId=case-signed-signed&stepId=step",
        json=body,
        headers={"x-inngest-signature": "t=1700000000&s=" + "0" * 64},
    )
    assert forged.status_code == 401
    assert httpx.get(f"{ctx.host.url}/v1/runs/{run['run_id']}").status_code == 401
    assert httpx.post(f"{ctx.host.url}/fn/register", json={}).status_code == 401
