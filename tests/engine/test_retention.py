"""Retention (engine/retention.py, State.purge): finished runs, their steps and old events go;
active runs and what they need stay. In memory and on disk, and by itself in a running engine."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import inngest
import pytest

from learninngest.engine.state.db import DAY_S, Run, State
from tests.engine.harness import local_engine, served
from tests.support import wait_for


@pytest.fixture(params=["memory", "file"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> State:
    opened = State(None if request.param == "memory" else str(tmp_path / "engine.db"))
    opened.open()
    yield opened
    opened.close()


def _event(state: State, internal_id: str, received: float) -> None:
    body = {"id": internal_id, "name": "app/test", "data": {}, "ts": int(received * 1000)}
    state.insert_event(internal_id, body, received, "api", False)


def _run(state: State, run_id: str, event_id: str, status: str, ended: float | None) -> None:
    state.insert_run(
        Run(run_id, "app-fn", 1, event_id, {}, [], status=status, started=(ended or 1000.0) - 1, ended=ended)
    )
    state.add_step(run_id, name="a", op="StepRun", status="Completed", started=(ended or 1000.0) - 1)


def test_purge_drops_old_finished_runs_their_steps_and_unneeded_events(state: State) -> None:
    _event(state, "e-old", 100.0)
    _run(state, "old-done", "e-old", "Completed", ended=100.0)
    _event(state, "e-active", 100.0)
    _run(state, "old-but-running", "e-active", "Running", ended=None)
    _event(state, "e-recent", 900.0)
    _run(state, "recent-failed", "e-recent", "Failed", ended=900.0)
    _event(state, "e-lonely", 100.0)  # an old event that started nothing

    removed = state.purge(before=500.0, now=1000.0)

    assert removed == {"runs": 1, "steps": 1, "events": 2}
    assert state.get_run("old-done") is None and state.steps_of("old-done") == []
    assert state.get_run("old-but-running") is not None  # active: kept whatever its age
    assert state.get_event("e-active") is not None  # its run still needs it
    assert state.get_run("recent-failed") is not None and state.get_event("e-recent") is not None
    assert state.get_event("e-old") is None and state.get_event("e-lonely") is None


def test_purge_drops_function_idempotency_keys_past_their_24_h(state: State) -> None:
    state.claim_idempotency("app-fn", "k-old", now=0.0)
    state.claim_idempotency("app-fn", "k-new", now=DAY_S)

    state.purge(before=0.0, now=DAY_S + 1)

    keys = [row["key"] for row in state._all("SELECT key FROM idempotency")]
    assert keys == ["k-new"]


def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="quick", trigger=inngest.TriggerEvent(event="retention/quick"))
    async def quick(ctx: inngest.Context) -> str:
        return await ctx.step.run("only", lambda: "done")

    @client.create_function(fn_id="sleepy", trigger=inngest.TriggerEvent(event="retention/sleepy"))
    async def sleepy(ctx: inngest.Context) -> str:
        await ctx.step.sleep("long-nap", datetime.timedelta(days=30))
        return "woke"

    return [quick, sleepy]


def test_a_running_engine_purges_finished_runs_by_itself_and_keeps_active_ones() -> None:
    with local_engine(retention_s=1) as host, served(host, "retention-app", make_functions) as ctx:
        state = host.server.app.state.engine.state  # type: ignore[union-attr]
        sleepy = ctx.wait_run(ctx.send("retention/sleepy"), "Running")
        ctx.wait_step(sleepy["run_id"], "long-nap", "Sleeping")
        quick = ctx.wait_run(ctx.send("retention/quick"), "Completed")

        def quick_is_gone() -> None:
            assert state.get_run(quick["run_id"]) is None
            assert state.steps_of(quick["run_id"]) == []

        wait_for(quick_is_gone, timeout=20, interval=0.2)
        kept = state.get_run(sleepy["run_id"])
        assert kept is not None and kept.status == "Running"  # sleeping for 30 days: still active
