"""FlowControl over a real (in-memory) state with a hand-moved clock: no app, no HTTP."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from learninngest.engine.clock import Clock
from learninngest.engine.flow.control import FlowControl
from learninngest.engine.ids import UlidFactory
from learninngest.engine.run.lifecycle import RunLifecycle
from learninngest.engine.run.queue import RunQueue
from learninngest.engine.state.db import State
from learninngest.engine.sync.functions import FunctionDef, parse_function
from tests.engine.harness import EngineLog

URL = "http://127.0.0.1:1/api/inngest?fnId=app-fn&stepId=step"


class HandClock(Clock):
    """Time moves only when the test says so."""

    def __init__(self) -> None:
        super().__init__(1.0)
        self.t = 1_000_000.0

    def now(self) -> float:
        return self.t


class Functions:
    def __init__(self, fn: FunctionDef) -> None:
        self.fn = fn

    def get(self, slug: str) -> FunctionDef | None:
        return self.fn if slug == self.fn.slug else None


@pytest.fixture
def state() -> Iterator[State]:
    st = State(None)  # in memory: each test its own
    st.open()
    yield st
    st.close()


def flow_for(state: State, **options: Any) -> tuple[FlowControl, FunctionDef, HandClock]:
    raw = {
        "id": "app-fn",
        "steps": {"step": {"id": "step", "runtime": {"url": URL}}},
        "triggers": [{"event": "app/e"}],
    } | options
    fn, clock = parse_function("app", raw), HandClock()
    runs = RunLifecycle(state, clock, RunQueue(), UlidFactory())
    return FlowControl(state, clock, Functions(fn), runs), fn, clock  # type: ignore[arg-type]


def send(flow: FlowControl, fn: FunctionDef, state: State, data: dict[str, Any]) -> str:
    event_id = flow.runs.ids.new()
    event = {"name": "app/e", "data": data, "id": event_id, "ts": 0}
    state.insert_event(event_id, event, flow.clock.now(), "api", False)
    flow.on_event(fn, event, event_id)
    return event_id


def test_debounce_timeout_caps_the_wait_from_the_first_event(state: State) -> None:
    flow, fn, clock = flow_for(state, debounce={"period": "10s", "timeout": "25s"})
    for n in range(3):  # one event every 8 s: each pushes the start to 10 s after it
        send(flow, fn, state, {"n": n})
        clock.t += 8
        flow.tick()
    assert state.list_runs() == []  # 24 s after the first event; the last one asks for 26 s
    clock.t += 2  # 26 s: the timeout (25 s) won over the last period, but the server's job
    flow.tick()  # runs 1.05 s after it (50 ms buffer + 1 s): not yet
    assert state.list_runs() == []
    clock.t += 0.05
    flow.tick()
    (run,) = state.list_runs()
    assert run.event["data"] == {"n": 2}
    assert state.steps_of(run.run_id)[0]["intended_delay_ms"] == 26_050


def test_a_batch_flushes_at_its_timeout_with_what_it_has(state: State) -> None:
    flow, fn, clock = flow_for(state, batchEvents={"maxSize": 5, "timeout": "10s"})
    send(flow, fn, state, {"n": 1})
    clock.t += 4
    send(flow, fn, state, {"n": 2})
    clock.t += 5
    flow.tick()
    assert state.list_runs() == []
    clock.t += 1
    flow.tick()
    (run,) = state.list_runs()
    assert [e["data"]["n"] for e in run.events] == [1, 2] and run.event["data"] == {"n": 1}


def test_throttle_answers_when_to_ask_again_and_keeps_one_timeline_row(state: State) -> None:
    flow, fn, clock = flow_for(state, throttle={"limit": 1, "period": "60s", "burst": 0})
    send(flow, fn, state, {})
    send(flow, fn, state, {})
    first, second = sorted(state.list_runs(), key=lambda r: r.run_id)
    assert flow.before_start(first, fn) is None
    assert flow.before_start(second, fn) == clock.t + 60
    clock.t += 30
    assert flow.before_start(second, fn) == clock.t + 30
    clock.t += 30
    assert flow.before_start(second, fn) is None
    flow.started(second, fn)
    (row,) = state.steps_of(second.run_id)
    assert (row["op"], row["status"], row["intended_delay_ms"]) == ("Throttle", "Completed", 60_000)


def test_a_throttled_run_s_row_ends_with_the_wait_it_had_not_the_first_estimate(state: State) -> None:
    flow, fn, clock = flow_for(state, throttle={"limit": 1, "period": "60s", "burst": 0})
    for _ in range(3):
        send(flow, fn, state, {})
    first, second, third = sorted(state.list_runs(), key=lambda r: r.run_id)
    assert flow.before_start(first, fn) is None
    flow.started(first, fn)
    assert flow.before_start(second, fn) == clock.t + 60
    assert flow.before_start(third, fn) == clock.t + 60  # when the throttle has room, not its turn
    assert state.steps_of(third.run_id)[0]["intended_delay_ms"] == 60_000
    clock.t += 60
    assert flow.before_start(second, fn) is None
    flow.started(second, fn)
    assert flow.before_start(third, fn) is not None
    clock.t += 60
    assert flow.before_start(third, fn) is None
    flow.started(third, fn)
    (row,) = state.steps_of(third.run_id)
    assert (row["op"], row["status"], row["intended_delay_ms"]) == ("Throttle", "Completed", 120_000)


def test_start_timeout_cancels_a_run_still_queued(state: State) -> None:
    flow, fn, clock = flow_for(state, timeouts={"start": "10s", "finish": "1m"})
    send(flow, fn, state, {})
    (run,) = state.list_runs()
    assert flow.next_wake() == clock.t + 10
    clock.t += 10
    flow.tick()
    done = state.get_run(run.run_id)
    assert done is not None and done.status == "Cancelled"
    assert state.steps_of(run.run_id)[-1]["name"] == "timeouts.start"


def test_finish_timeout_counts_from_the_first_call(state: State) -> None:
    flow, fn, clock = flow_for(state, timeouts={"start": "10s", "finish": "1m"})
    send(flow, fn, state, {})
    (run,) = state.list_runs()
    clock.t += 5
    flow.started(run, fn)
    clock.t += 59
    flow.tick()
    assert state.get_run(run.run_id).status == "Scheduled"  # type: ignore[union-attr]
    clock.t += 1
    flow.tick()
    assert state.get_run(run.run_id).status == "Cancelled"  # type: ignore[union-attr]


def test_singleton_skip_records_a_skipped_run_per_key(state: State) -> None:
    flow, fn, _ = flow_for(state, singleton={"mode": "skip", "key": "event.data.user"})
    send(flow, fn, state, {"user": "ana"})
    skipped_id = send(flow, fn, state, {"user": "ana"})
    send(flow, fn, state, {"user": "bo"})
    statuses = sorted(r.status for r in state.list_runs())
    assert statuses == ["Scheduled", "Scheduled", "Skipped"]
    assert [d["decision"] for d in flow.store.decisions(skipped_id)] == ["skipped"]


def test_a_negative_priority_delays_the_start(state: State) -> None:
    flow, fn, clock = flow_for(state, priority={"run": "int(event.data.p)"})
    send(flow, fn, state, {"p": -30})
    (run,) = state.list_runs()
    assert flow.before_start(run, fn) == run.started + 30
    clock.t += 30
    assert flow.before_start(run, fn) is None


def test_purge_drops_flow_rows_of_purged_runs_old_decisions_and_spent_counters(state: State) -> None:
    flow, fn, clock = flow_for(state, rateLimit={"limit": 1, "period": "60s"}, timeouts={"finish": "1h"})
    send(flow, fn, state, {})
    dropped = send(flow, fn, state, {})  # rate limited: a flow_log row, no run
    (run,) = state.list_runs()
    flow.runs.finish(run, "Completed", "ok")
    later = clock.t + 120  # the counter is back at full capacity, the run ended long ago
    state.purge(before=later, now=later)
    assert state.get_run(run.run_id) is None and flow.store.get_run(run.run_id) is None
    assert flow.store.decisions(dropped) == []
    assert flow.store.tat("rate_limit", fn.slug, "") is None


def test_each_decision_logs_one_line(
    state: State, engine_log: EngineLog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="learninngest.engine")
    flow, fn, clock = flow_for(
        state, rateLimit={"limit": 1, "period": "60s"}, batchEvents={"maxSize": 2, "timeout": "5s"}
    )
    kept = send(flow, fn, state, {})
    dropped = send(flow, fn, state, {})
    clock.t += 5
    flow.tick()
    (run,) = state.list_runs()
    assert engine_log.lines == [
        f"INFO fn=app-fn event_id={dropped} rate limited (key ''): no run",
        f"INFO run scheduled run_id={run.run_id} fn=app-fn event_id={kept}",
        f"INFO fn=app-fn batch of 1 event(s) (key '', due) starts run_id={run.run_id}",
    ]


def test_runs_created_elsewhere_get_their_flow_data_when_first_asked(state: State) -> None:
    """Cron runs and invoked children are created without intake: the first ask registers them."""
    flow, fn, clock = flow_for(state, timeouts={"start": "10s"}, priority={"run": "int(event.data.p)"})
    event = {"name": "inngest/function.invoked", "data": {"p": 5}, "id": "x", "ts": 0}
    run = flow.runs.create_run(fn, event, "x")
    assert flow.store.get_run(run.run_id) is None
    assert flow.before_start(run, fn) is None
    stored = flow.store.get_run(run.run_id)
    assert stored is not None and stored.priority == 5 and stored.start_by == run.started + 10
