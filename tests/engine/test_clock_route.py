"""POST /v1/clock/advance moves the engine's virtual clock: a sleep of a day ends at once,
a wait times out at once; bad bodies and, in signed mode, a missing key are refused."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import httpx
import inngest
import inngest.fast_api
import pytest
from fastapi import FastAPI

from learninngest.engine.clock import Clock
from learninngest.kit.servers import BackgroundServer
from learninngest.worker.client import release_blocking_client
from tests.engine.harness import TEST_SIGNING_KEY, Host, local_engine
from tests.support import wait_for


@pytest.fixture
def engine() -> Iterator[Host]:
    with local_engine() as host:
        yield host


def test_a_day_long_sleep_and_a_wait_end_when_the_clock_moves_on(engine: Host) -> None:
    client = inngest.Inngest(
        app_id="clock", is_production=False, api_base_url=engine.url, event_api_base_url=engine.url
    )

    @client.create_function(fn_id="nap", trigger=inngest.TriggerEvent(event="clock/nap"))
    async def nap(ctx: inngest.Context) -> str:
        await ctx.step.sleep("a-day", datetime.timedelta(days=1))
        return "woke"

    @client.create_function(fn_id="wait", trigger=inngest.TriggerEvent(event="clock/wait"))
    async def wait(ctx: inngest.Context) -> str:
        got = await ctx.step.wait_for_event("reply", event="clock/reply", timeout=datetime.timedelta(days=2))
        return "timed out" if got is None else "answered"

    app = FastAPI()
    inngest.fast_api.serve(app, client, [nap, wait])
    try:
        with BackgroundServer(app, name="app") as served, engine.rest() as rest:
            rest.post("/v1/apps/sync", json={"url": f"{served.url}/api/inngest"}).raise_for_status()
            napping = client.send_sync(inngest.Event(name="clock/nap"))[0]
            waiting = client.send_sync(inngest.Event(name="clock/wait"))[0]

            def paused(event_id: str) -> str:
                (run,) = rest.get(f"/v1/events/{event_id}/runs").json()["data"]
                rows = rest.get(f"/v1/runs/{run['run_id']}/steps").json()["data"]
                assert [r["status"] for r in rows if r["op"] in ("Sleep", "WaitForEvent")] in (
                    ["Sleeping"],
                    ["Waiting"],
                ), rows
                return str(run["run_id"])

            nap_run, wait_run = wait_for(lambda: paused(napping)), wait_for(lambda: paused(waiting))
            # A day at the tests' time scale is 864 s of real time: only the clock can end it.
            reply = rest.post("/v1/clock/advance", json={"seconds": 86400})
            assert reply.status_code == 200 and reply.json()["data"]["advanced_s"] == 86400

            def status(run_id: str) -> str:
                return str(rest.get(f"/v1/runs/{run_id}").json()["data"]["status"])

            wait_for(lambda: assert_equal(status(nap_run), "Completed"))
            assert status(wait_run) == "Running"  # two days: still waiting
            rest.post("/v1/clock/advance", json={"seconds": 86400}).raise_for_status()
            wait_for(lambda: assert_equal(status(wait_run), "Completed"))
            assert rest.get(f"/v1/runs/{wait_run}").json()["data"]["output"] == "timed out"
    finally:
        release_blocking_client(client)  # send_sync's kept connection, not left to the GC


def assert_equal(got: object, want: object) -> None:
    assert got == want, got


@pytest.mark.parametrize("body", [{}, {"seconds": -1}, {"seconds": "soon"}, {"seconds": 1e12}])
def test_a_bad_body_is_refused_with_what_to_send(engine: Host, body: dict[str, object]) -> None:
    reply = httpx.post(f"{engine.url}/v1/clock/advance", json=body)
    assert reply.status_code == 400
    assert reply.json()["error"].startswith('send {"seconds": N}: the virtual seconds to move on')


def test_signed_mode_wants_the_key() -> None:
    with local_engine(signing_key=TEST_SIGNING_KEY) as host:
        refused = httpx.post(f"{host.url}/v1/clock/advance", json={"seconds": 60})
        assert refused.status_code == 401
        with host.rest() as rest:
            assert rest.post("/v1/clock/advance", json={"seconds": 60}).status_code == 200


def test_the_clock_only_moves_forward() -> None:
    clock = Clock(0.01)
    before = clock.now()
    assert clock.advance(3600) == pytest.approx(36.0)
    assert clock.now() - before >= 36.0
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
