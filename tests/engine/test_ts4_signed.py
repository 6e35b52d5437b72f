"""Checkpointing and a durable endpoint in signed mode (the engine acting as Cloud), with the real
TypeScript SDK 4.x app: the SDK's checkpoints carry the signing key's bearer, and the engine's
call back of an endpoint is signed over the request it replays.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.engine.harness import TEST_SIGNING_KEY, local_engine
from tests.engine.ts4_app import Ts4App, follow_streamed_answer, started
from tests.support import wait_for


@pytest.fixture(scope="module")
def app() -> Iterator[Ts4App]:
    with local_engine(paused=True, signing_key=TEST_SIGNING_KEY) as host, started(host) as ts:
        yield ts


def test_steps_are_checkpointed_with_the_signing_keys_bearer(app: Ts4App) -> None:
    run = app.wait_run(app.send("ts4/three-steps"), "Completed")
    assert run["output"] == {"letters": "ABC"}
    assert app.seen()["calls"]["ts-app4-three-steps"] == 1


def test_an_endpoint_is_called_back_signed(app: Ts4App) -> None:
    resp = httpx.get(f"{app.url}/endpoint/nap", params={"who": "ada"}, timeout=30)
    assert resp.status_code == 302, resp.text
    run_id = resp.headers["location"].split("?")[0].split("/")[-2]
    app.wait_status(run_id, "Running")

    def sleeping() -> None:
        assert [s["op"] for s in app.steps(run_id)] == ["StepRun", "Sleep"]

    wait_for(sleeping, timeout=30)
    app.advance(10)
    run = app.wait_status(run_id, "Completed")
    assert run["output"]["status"] == 200
    assert httpx.get(resp.headers["location"], timeout=30).json() == {
        "before": "before",
        "after": "after ada",
    }


def test_a_streamed_answer_goes_on_after_the_redirect_signed(app: Ts4App) -> None:
    """As in dev mode; here the SDK tees with the signing key's bearer."""
    follow_streamed_answer(app, "bea")
