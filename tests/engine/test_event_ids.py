"""Event ids from the SDK's `x-inngest-event-id-seed`: a retried send gets the same ids, no new run.

The real server derives each event's internal ULID from the seed header (`<ms>,<base64 of 10
bytes>`, the n-th event of the body adding n to the last 4 bytes). The SDK makes one seed per
send and keeps it when it retries after a timeout or a 5xx, so the retry is recognised.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import inngest
import pytest
from fastapi import FastAPI, Request, Response
from ulid import ULID

from learninngest.engine.ids import seeded_ids
from learninngest.kit.servers import BackgroundServer
from learninngest.worker.client import release_blocking_client
from tests.engine.harness import CaseContext, local_engine, served

ENTROPY = bytes([9, 8, 7, 6, 5, 4, 0xFF, 0xFF, 0xFF, 0xFE])
SEED = "1743130137367," + base64.b64encode(ENTROPY).decode()


def test_seeded_ids_follow_the_dev_server_rule() -> None:
    first, second, third = seeded_ids(SEED, 3) or []
    assert seeded_ids(SEED, 3) == [first, second, third]  # deterministic
    for n, text in enumerate((first, second, third), start=1):
        raw = ULID.from_str(text).bytes
        assert int.from_bytes(raw[:6], "big") == 1743130137367  # the seed's ms
        assert raw[6:12] == ENTROPY[:6]
        # Event n adds n to the last 4 entropy bytes, wrapping at 2**32.
        assert int.from_bytes(raw[12:], "big") == (0xFFFFFFFE + n) % 2**32


@pytest.mark.parametrize(
    "seed", [None, "", "12,34", "abc,AAAAAAAAAAAAAA==", "-1," + base64.b64encode(ENTROPY).decode(), "1,AAAA"]
)
def test_a_malformed_seed_gives_no_ids(seed: str | None) -> None:
    assert seeded_ids(seed, 1) is None


def _functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["calls"] = 0

    @client.create_function(fn_id="once", trigger=inngest.TriggerEvent(event="ids/once"))
    async def once(ctx: inngest.Context) -> str:
        box["calls"] += 1
        return "ran"

    return [once]


@pytest.fixture
def ctx() -> Iterator[CaseContext]:
    with local_engine() as host, served(host, "ids", _functions) as ctx:
        yield ctx


def test_the_same_seed_twice_gives_the_same_ids_and_one_run(ctx: CaseContext) -> None:
    url = f"{ctx.host.url}/e/any-key"
    body = [{"name": "ids/once", "data": {"n": 1}}, {"name": "ids/once", "data": {"n": 2}}]
    headers = {"x-inngest-event-id-seed": SEED}
    first = httpx.post(url, json=body, headers=headers).json()
    again = httpx.post(url, json=body, headers=headers).json()
    assert first["ids"] == again["ids"] == seeded_ids(SEED, 2)
    for event_id in first["ids"]:
        ctx.wait_run(event_id, "Completed")
    assert ctx.box["calls"] == 2  # two events, one run each; the resend started none
    other = httpx.post(url, json=body[:1], headers={"x-inngest-event-id-seed": SEED.replace("1743", "1744")})
    assert other.json()["ids"] != first["ids"][:1]


def test_a_send_retried_after_a_5xx_starts_one_run(ctx: CaseContext) -> None:
    """A proxy delivers the SDK's first send to the engine but answers 502, as a gateway
    timing out would: the SDK sends again with the same seed."""
    seen: list[tuple[str | None, int]] = []

    proxy = FastAPI()

    @proxy.post("/e/{key}")
    async def forward(key: str, request: Request) -> Response:
        body = await request.body()
        seed = request.headers.get("x-inngest-event-id-seed")
        async with httpx.AsyncClient() as client:
            resp = await client.post(
                f"{ctx.host.url}/e/{key}",
                content=body,
                headers={"content-type": "application/json", "x-inngest-event-id-seed": seed or ""},
            )
        seen.append((seed, resp.status_code))
        if len(seen) == 1:
            return Response(b"bad gateway", status_code=502)
        return Response(resp.content, status_code=resp.status_code, media_type="application/json")

    with BackgroundServer(proxy, name="flaky-gateway") as gateway:
        sender = inngest.Inngest(app_id="ids-sender", is_production=False, event_api_base_url=gateway.url)
        try:
            (event_id,) = sender.send_sync(inngest.Event(name="ids/once", data={}))
        finally:
            release_blocking_client(sender)  # no socket left for the GC to warn about
    assert len(seen) == 2 and seen[0][0] == seen[1][0]  # the retry kept its seed
    ctx.wait_run(event_id, "Completed")
    with ctx.host.rest() as rest:
        stored = rest.get("/v1/events", params={"name": "ids/once"}).json()["data"]
    # Both copies are stored, as on the Dev Server, under one id; only one ran.
    assert [e["internal_id"] for e in stored] == [event_id, event_id]
    assert len(ctx.runs(event_id)) == 1 and ctx.box["calls"] == 1
    assert seen[1][1] == 200  # the engine answered the resend normally (same ids)
