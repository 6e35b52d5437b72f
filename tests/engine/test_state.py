"""State files made before a column existed get it when the engine opens them."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from learninngest.engine.state.db import Run, State


def test_an_older_state_file_gets_the_request_version_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    # The runs table as the first release made it (no request_version).
    conn.execute(
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, function_slug TEXT NOT NULL,"
        " function_version INTEGER NOT NULL, event_id TEXT NOT NULL, event TEXT NOT NULL,"
        " events TEXT NOT NULL, status TEXT NOT NULL, started REAL NOT NULL, ended REAL, output TEXT,"
        " memo TEXT NOT NULL, stack TEXT NOT NULL, planned TEXT NOT NULL, attempt INTEGER NOT NULL,"
        " due REAL, waiting TEXT, wait_event TEXT, parent_run_id TEXT, parent_step_id TEXT, cron TEXT)"
    )
    conn.execute(
        "INSERT INTO runs VALUES ('r1', 'app-fn', 1, 'e1', '{}', '[]', 'Running', 0, NULL, NULL,"
        " '{}', '[]', '[]', 0, 1.0, NULL, NULL, NULL, NULL, NULL)"
    )
    conn.commit()
    conn.close()
    state = State(str(path))
    state.open()
    try:
        run = state.get_run("r1")
        assert run is not None and run.request_version == -1
        run.request_version = 2
        state.save_run(run)
        assert (state.get_run("r1") or run).request_version == 2
    finally:
        state.close()


def test_an_older_state_file_keeps_its_one_pause_per_run(tmp_path: Path) -> None:
    """Before several pauses, `waiting` held one object (its deadline was the run's due time)
    and runs were found by `wait_event`: such a wait is still found by its event, and its
    deadline is kept."""
    path = tmp_path / "old.db"
    state = State(str(path))
    state.open()
    state.close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE run_waits")
    conn.execute(
        "INSERT INTO runs (run_id, function_slug, function_version, event_id, event, events, status,"
        " started, memo, stack, planned, attempt, due, waiting, wait_event)"
        " VALUES ('r1', 'app-fn', 1, 'e1', '{}', '[]', 'Running', 0, '{}', '[]', '[]', 0, 99.0,"
        ' \'{"kind": "wait", "step_id": "h1", "name": "approval", "seq": 3, "event": "app/ok"}\','
        " 'app/ok')"
    )
    conn.commit()
    conn.close()
    state = State(str(path))
    state.open()
    try:
        (run,) = state.runs_waiting_for("app/ok")
        assert run.pauses == [
            {
                "kind": "wait",
                "step_id": "h1",
                "name": "approval",
                "seq": 3,
                "event": "app/ok",
                "deadline": 99.0,
            }
        ]
        assert run.race == []
        run.end_pause("h1")
        state.save_run(run)
        assert state.runs_waiting_for("app/ok") == []
    finally:
        state.close()


def test_each_wait_of_a_run_finds_it_by_its_event(tmp_path: Path) -> None:
    state = State(str(tmp_path / "engine.db"))
    state.open()
    try:
        run = Run("r1", "app-fn", 1, "e1", {}, [], status="Running")
        state.insert_run(run)
        run.pauses = [
            {"kind": "sleep", "step_id": "s", "deadline": 5.0},
            {"kind": "wait", "step_id": "a", "event": "app/a", "deadline": None},
            {"kind": "wait", "step_id": "b", "event": "app/b", "deadline": 9.0},
        ]
        state.save_run(run)
        assert [r.run_id for r in state.runs_waiting_for("app/a")] == ["r1"]
        (found,) = state.runs_waiting_for("app/b")
        assert found.pauses == run.pauses and found.next_deadline() == 5.0
        found.end_pause("b")
        state.save_run(found)
        assert state.runs_waiting_for("app/b") == []
        assert [r.run_id for r in state.runs_waiting_for("app/a")] == ["r1"]
        found.status = "Cancelled"
        found.pauses = []
        state.save_run(found)
        assert state.runs_waiting_for("app/a") == []
    finally:
        state.close()


def test_a_runs_single_event_is_stored_once_and_a_batch_as_its_list() -> None:
    state = State(None)
    state.open()
    try:
        event = {"name": "app/x", "data": {"n": 1}, "id": "e1", "ts": 1}
        other = {"name": "app/x", "data": {"n": 2}, "id": "e2", "ts": 2}
        state.insert_run(Run("r1", "app-fn", 1, "e1", event, [event]))
        state.insert_run(Run("r2", "app-fn", 1, "e1", event, [event, other]))
        stored = {row["run_id"]: row["events"] for row in state._all("SELECT run_id, events FROM runs")}
        assert stored["r1"] == ""  # the event is in the `event` column already
        assert (state.get_run("r1") or Run("", "", 0, "", {}, [])).events == [event]
        assert (state.get_run("r2") or Run("", "", 0, "", {}, [])).events == [event, other]
    finally:
        state.close()


def test_latest_is_the_run_in_hand_until_something_else_writes_its_row() -> None:
    """The executor keeps the run it holds between calls; any other write of the row (an
    event resuming it, a cancel, a timeout), or a rolled back transaction, makes it read again."""
    state = State(None)
    state.open()
    try:
        state.insert_run(Run("r1", "app-fn", 1, "e1", {}, [], status="Running"))
        state.insert_run(Run("r2", "app-fn", 1, "e1", {}, [], status="Running"))
        held = state.get_run("r1")
        assert held is not None and state.latest(held) is held
        other = state.get_run("r1")
        assert other is not None
        other.memoize("s1", {"data": 1})
        state.save_run(other)
        fresh = state.latest(held)
        assert fresh is not held and fresh is not None and fresh.memo == {"s1": {"data": 1}}
        assert state.latest(other) is other
        r2 = state.get_run("r2")
        assert r2 is not None
        state.save_run(r2)  # another run's write leaves r1's object current
        assert state.latest(other) is other
        with contextlib.suppress(RuntimeError), state.tx():
            other.memoize("s2", {"data": 2})
            state.save_run(other)
            raise RuntimeError("rolled back")
        again = state.latest(other)
        assert again is not other and again is not None and set(again.memo) == {"s1"}
        again.status = "Completed"
        state.save_run(again)  # a finished run is not written again: it is read when asked for
        done = state.latest(again)
        assert done is not again and done is not None and done.finished
    finally:
        state.close()


def test_runs_waiting_for_starts_from_the_waits_of_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked for every event: the plan looks the name up in run_waits, not every active run
    by status, and the runs found are the active ones waiting for it, in run id order."""
    state = State(None)
    state.open()
    try:
        statuses = ["Scheduled", "Running", "Completed", "Cancelled"]
        for n in range(40):
            run = Run(f"r{n:02d}", "app-fn", 1, "e1", {}, [], status="Running")
            state.insert_run(run)
            if n % 3:
                name = "app/a" if n % 2 else "app/b"
                run.pauses = [{"kind": "wait", "step_id": f"w{n}", "event": name, "deadline": None}]
            run.status = statuses[n % 4]
            state.save_run(run)
        asked: list[tuple[str, Any]] = []
        monkeypatch.setattr(state, "_all", lambda sql, params=(): asked.append((sql, params)) or [])
        state.runs_waiting_for("app/a")
        monkeypatch.undo()
        ((sql, params),) = asked
        plan = " ".join(str(tuple(row)) for row in state.query(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "runs_by_status" not in plan and "run_waits_by_event" in plan
        for name in ("app/a", "app/b", "app/none"):
            want = [
                f"r{n:02d}"
                for n in range(40)
                if n % 3 and (name == ("app/a" if n % 2 else "app/b")) and statuses[n % 4] in statuses[:2]
            ]
            assert [r.run_id for r in state.runs_waiting_for(name)] == want
    finally:
        state.close()
