"""A body sent again with the same `x-inngest-event-id-seed` (the SDK retrying after a timeout or a
5xx): as on the Dev Server, both copies are stored under the same ids (4 events, 2 distinct
ids) and the resend starts no run (inngest-py's `test_client_send_retry`)."""

from __future__ import annotations

from typing import Any

import httpx
import inngest

from tests.engine.harness import CaseContext, wait_for

APP_ID = "case-event-seed-resend"
SEED = "1743130137367,AAECAwQFBgcICQ=="  # "<unix ms>,<base64 of 10 bytes>", as the SDK makes it


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["calls"] = 0

    @client.create_function(fn_id="once", trigger=inngest.TriggerEvent(event="case/seeded"))
    async def once(ctx: inngest.Context) -> str:
        box["calls"] += 1
        return "ran"

    return [once]


def check(ctx: CaseContext) -> None:
    body = [{"name": "case/seeded", "data": {"n": 1}}, {"name": "case/seeded", "data": {"n": 2}}]
    headers = {"x-inngest-event-id-seed": SEED}
    first = httpx.post(f"{ctx.host.url}/e/any-key", json=body, headers=headers).json()
    again = httpx.post(f"{ctx.host.url}/e/any-key", json=body, headers=headers).json()
    assert first["ids"] == again["ids"] and len(set(first["ids"])) == 2
    for event_id in first["ids"]:
        ctx.wait_run(event_id, "Completed")

    def listed() -> list[str]:
        with ctx.host.rest() as rest:
            data = rest.get("/v1/events", params={"name": "case/seeded"}).json()["data"]
        ids = [e["internal_id"] for e in data]
        assert len(ids) == 4
        return ids

    ids = wait_for(listed, timeout=ctx.patience(10))
    assert sorted(set(ids)) == sorted(first["ids"])  # 4 copies, 2 distinct ids
    for event_id in first["ids"]:
        assert len(ctx.runs(event_id)) == 1  # the copies started nothing
    assert ctx.box["calls"] == 2
