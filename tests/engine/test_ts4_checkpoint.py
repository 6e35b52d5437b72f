"""Checkpointing with a real TypeScript SDK 4.x app (tests/engine/ts_app4/features/checkpointing.js).

The engine's call carries `ctx.fn_id` and `ctx.qi_id`, so the SDK runs the steps it finds in
that one call, checkpoints each (POST /v1/checkpoint/{run_id}/async) and ends the run with a
RunComplete opcode: fewer calls, the same run and the same timeline as step by step.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.engine.harness import local_engine
from tests.engine.ts4_app import Ts4App, started
from tests.support import wait_for


@pytest.fixture(scope="module")
def app() -> Iterator[Ts4App]:
    with local_engine(paused=True) as host, started(host) as ts:
        yield ts


def test_steps_run_in_one_call_and_are_checkpointed(app: Ts4App) -> None:
    run = app.wait_run(app.send("ts4/three-steps"), "Completed")
    assert run["output"] == {"letters": "ABC"}
    assert app.rows(run["run_id"]) == [
        ("a", "StepRun", "Completed"),
        ("b", "StepRun", "Completed"),
        ("c", "StepRun", "Completed"),
        ("function", "RunComplete", "Completed"),
    ]
    # Step by step it takes four calls; checkpointing, one.
    assert app.seen()["calls"]["ts-app4-three-steps"] == 1


def test_a_sleep_ends_the_call_and_the_next_call_checkpoints_again(app: Ts4App) -> None:
    event_id = app.send("ts4/steps-around-sleep")

    def sleeping() -> str:
        (run,) = app.runs_of(event_id)
        steps = app.rows(run["run_id"])
        assert steps == [("before", "StepRun", "Completed"), ("nap", "Sleep", "Sleeping")], steps
        return str(run["run_id"])

    run_id = wait_for(sleeping, timeout=30)
    assert app.seen()["calls"]["ts-app4-steps-around-sleep"] == 1  # no extra call for the checkpoint
    app.advance(10)
    run = app.wait_status(run_id, "Completed")
    assert run["output"] == ["before", "after"]
    assert app.rows(run_id) == [
        ("before", "StepRun", "Completed"),
        ("nap", "Sleep", "Completed"),
        ("after", "StepRun", "Completed"),
        ("function", "RunComplete", "Completed"),
    ]
    assert app.seen()["calls"]["ts-app4-steps-around-sleep"] == 2


def test_a_failing_step_is_retried_then_checkpointing_goes_on(app: Ts4App) -> None:
    run_id = app.run_showing(app.send("ts4/flaky-step"), ("flaky", "StepError", "Retrying"))
    app.advance(60)  # past the step's backoff
    run = app.wait_status(run_id, "Completed")
    assert run["output"] == ["first", "worked"]
    assert app.rows(run_id) == [
        ("first", "StepRun", "Completed"),
        ("flaky", "StepError", "Retrying"),
        ("flaky", "StepRun", "Completed"),
        ("function", "RunComplete", "Completed"),
    ]
    assert app.seen()["notes"]["flaky"] == 2


def test_a_parallel_group_is_called_step_by_step_beside_checkpointing(app: Ts4App) -> None:
    run = app.wait_run(app.send("ts4/group-then-step"), "Completed")
    assert run["output"] == "LR"
    done = sorted(name for name, op, status in app.rows(run["run_id"]) if op == "StepRun")
    assert done == ["join", "left", "right"]
    # Every call so far, the group's planned-step calls among them, carried its generation in
    # the header and the body's ctx alike.
    seen = app.seen()
    assert seen["bodyGenerations"] == [int(g) for g in seen["generations"]]


def test_a_late_checkpoint_from_a_call_given_up_on_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    """Dispatch generations, as the real server fences them: the engine sends each call's in
    `X-Inngest-Generation-Id`, the SDK echoes it in its checkpoints, and one from a call the
    engine gave up on (timed out) is a stale dispatch (409): its step is not kept.

    Dispatch validation on (the Dev Server's EXPERIMENTAL_ASYNC_DISPATCH_VALIDATION), with
    `checkpoint_fresh_s=0` to check every checkpoint (the server skips those of calls begun
    less than 10 s ago, which this one is). The step waits for the test's gate, opened only
    once the engine has given up on its call: no race between the two."""
    caplog.set_level(logging.WARNING, logger="learninngest.engine")
    with (
        local_engine(
            paused=True, call_timeout_s=5.0, dispatch_validation=True, checkpoint_fresh_s=0.0
        ) as host,
        started(host) as app,
    ):
        event_id = app.send("ts4/outlasts-its-call")
        run_id = app.run_showing(event_id, ("function", "Call", "Retrying"), timeout=60)
        httpx.post(f"{app.url}/open", params={"gate": "slow"}, timeout=5).raise_for_status()

        def refused() -> list[str]:
            stale = [r.getMessage() for r in caplog.records if "stale dispatch" in r.getMessage()]
            assert stale
            return stale

        print("engine:", wait_for(refused, timeout=30))

        def completed() -> dict[str, Any]:
            app.advance(600)  # past the retry's backoff, once more if a call timed out again
            run = app.run(run_id)
            assert run["status"] == "Completed", run["status"]
            return run

        run = wait_for(completed, timeout=60)
        seen = app.seen()
        print("steps:", app.rows(run_id), "seen:", seen)
        assert run["output"] == "AS"
        generations = [g for g in seen["generations"] if g is not None]
        assert len(generations) == len(seen["generations"]) == len(set(generations))  # one per call, new
        assert seen["bodyGenerations"] == [int(g) for g in generations]  # ctx.generation_id too
        # The SDK echoed the first call's generation in the late checkpoint, which was refused:
        assert any(generations[0] in message for message in refused())
        assert seen["notes"]["slow"] >= 2  # so a later call ran the step again
        kept = [s for s in app.steps(run_id) if s["name"] == "slow" and s["status"] == "Completed"]
        assert len(kept) == 1
