"""The run loop reads a run's row again only when something else wrote it (State.latest).

The executor's state is wrapped to count the reads it makes: a two-step run that nothing
else touches is read once, at its activation; a run resumed by an event while it waits is
read again when it is activated for the news, and goes on with the event's data.
"""

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

import inngest
import pytest

from learninngest.engine.state.db import Run, State
from tests.engine.harness import local_engine, served


class CountingState:
    """The executor's view of the state: every read of a run's row is counted."""

    def __init__(self, state: State) -> None:
        self._state = state
        self.reads: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state, name)

    def get_run(self, run_id: str) -> Run | None:
        self.reads[run_id] += 1
        return self._state.get_run(run_id)

    def latest(self, run: Run) -> Run | None:
        found = self._state.latest(run)
        if found is not run:
            self.reads[run.run_id] += 1
        return found


def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="two-steps", trigger=inngest.TriggerEvent(event="reads/two-steps"))
    async def two_steps(ctx: inngest.Context) -> str:
        a = await ctx.step.run("first", lambda: "A")
        return await ctx.step.run("second", lambda: a + "B")

    @client.create_function(fn_id="waits", trigger=inngest.TriggerEvent(event="reads/waits"))
    async def waits(ctx: inngest.Context) -> Any:
        got = await ctx.step.wait_for_event("ok", event="reads/ok", timeout=datetime.timedelta(hours=1))
        return got.data if got else None

    return [two_steps, waits]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Any:
    with local_engine() as host, served(host, "reads", make_functions) as ctx:
        assert host.server is not None
        executor = host.server.app.state.engine.executor
        counting = CountingState(executor.state)
        monkeypatch.setattr(executor, "state", counting)
        yield ctx, counting.reads


def test_a_run_nothing_else_touches_is_read_once(counted: Any) -> None:
    ctx, reads = counted
    run = ctx.wait_run(ctx.send("reads/two-steps"))
    assert run["output"] == "AB"
    assert reads[run["run_id"]] == 1


def test_a_run_resumed_by_an_event_is_read_again(counted: Any) -> None:
    ctx, reads = counted
    (run,) = ctx.runs(ctx.send("reads/waits"))
    ctx.wait_step(run["run_id"], "ok", "Waiting")
    ctx.send("reads/ok", {"yes": True})
    done = ctx.wait_run(run["event_id"])
    assert done["output"] == {"yes": True}
    assert reads[run["run_id"]] == 2  # its first activation, then the one the event caused
