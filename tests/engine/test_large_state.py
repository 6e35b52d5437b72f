"""Large run state: past `inline_state_limit` the engine calls with `use_api: true` and the SDK
fetches the memo from GET /v0/runs/{id}/actions and the events from /v0/runs/{id}/batch.

The app here refuses request bodies over 2.5 MiB with a 400, like Django's default
DATA_UPLOAD_MAX_MEMORY_SIZE: a run whose steps return 700 KB each failed there once the memo
sent inline at every call outgrew it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import inngest
import inngest.fast_api
import pytest
from fastapi import FastAPI, Request, Response

from learninngest.kit.servers import BackgroundServer
from learninngest.worker.client import release_blocking_client
from tests.engine.harness import TEST_SIGNING_KEY, CaseContext, local_engine, sync

BODY_LIMIT = int(2.5 * 1024 * 1024)
STEP_BYTES = 700_000
STEPS = 4


def make_app(client: inngest.Inngest, box: dict[str, Any]) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def body_limit(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.method == "POST" and request.url.path == "/api/inngest":
            raw = await request.body()
            box["sizes"].append(len(raw))
            if len(raw) > BODY_LIMIT:
                return Response(b'{"message": "request body too large"}', status_code=400)
            box["use_api"].append(json.loads(raw)["use_api"])
        return await call_next(request)

    @client.create_function(fn_id="big", retries=0, trigger=inngest.TriggerEvent(event="big/state"))
    async def big(ctx: inngest.Context) -> dict[str, Any]:
        outputs = [await ctx.step.run(f"s{n}", lambda n=n: str(n) * STEP_BYTES) for n in range(STEPS)]
        return {"lengths": [len(o) for o in outputs], "first": outputs[0][:3], "n": ctx.event.data["n"]}

    inngest.fast_api.serve(app, client, [big])
    return app


@pytest.mark.parametrize("signed", [False, True], ids=["dev", "signed"])
def test_a_large_memo_is_fetched_by_the_sdk(signed: bool) -> None:
    box: dict[str, Any] = {"sizes": [], "use_api": []}
    key = TEST_SIGNING_KEY if signed else None
    with local_engine(signing_key=key) as host:
        client = inngest.Inngest(
            app_id="big-state",
            is_production=signed,
            signing_key=key,
            event_key="test-event-key" if signed else None,
            api_base_url=host.url,
            event_api_base_url=host.url,
        )
        try:
            with BackgroundServer(make_app(client, box), name="big-state") as app:
                sync(host, f"{app.url}/api/inngest")
                ctx = CaseContext(host, client, f"{app.url}/api/inngest", box)
                run = ctx.wait_run(ctx.send("big/state", {"n": 7}), "Completed", timeout=60)
        finally:
            release_blocking_client(client)
    assert run["output"] == {"lengths": [STEP_BYTES] * STEPS, "first": "000", "n": 7}
    assert max(box["sizes"]) < 1024 * 1024  # never near the app's limit
    assert box["use_api"][0] is False and box["use_api"][-1] is True


def test_v0_endpoints_answer_the_memo_and_the_batch() -> None:
    with local_engine(signing_key=TEST_SIGNING_KEY) as host, host.rest() as rest:
        assert rest.get("/v0/runs/01M8AVQ7SD2PJQK6N5S5FY6GSX/actions").status_code == 404
        assert rest.get("/v0/runs/not-a-ulid/batch").status_code == 400
        bare = host.rest()
        bare.headers.pop("authorization")
        assert bare.get("/v0/runs/01M8AVQ7SD2PJQK6N5S5FY6GSX/actions").status_code == 401
        bare.close()
