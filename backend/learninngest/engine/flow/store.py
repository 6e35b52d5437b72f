"""The flow-control tables of the engine state (schema in ../state.sql, section `flow_*`).

Thin SQL over `State`; every decision is made by the pure modules beside this one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from learninngest.engine.state.db import State
from learninngest.engine.state.models import ACTIVE, Run


@dataclass
class RunFlow:
    """What flow control remembers about one run (computed from its event when created)."""

    run_id: str
    function_slug: str
    priority: int = 0
    slot_keys: list[tuple[str, int]] | None = None
    throttle_key: str | None = None
    singleton_key: str | None = None
    start_by: float | None = None
    finish_s: float | None = None
    finish_by: float | None = None
    started: float | None = None
    throttled_seq: int | None = None  # timeline row of the throttle wait, if any


@dataclass
class Pending:
    """A debounce or a batch waiting to start a run: its events (internal id, body) so far."""

    kind: str
    function_slug: str
    key: str
    events: list[tuple[str, dict[str, Any]]]
    first_at: float
    due: float


class FlowStore:
    def __init__(self, state: State) -> None:
        self.state = state

    # --- per-run flow data
    def save_run(self, rf: RunFlow) -> None:
        self.state.execute(
            "INSERT OR REPLACE INTO flow_runs (run_id, function_slug, priority, slot_keys, throttle_key,"
            " singleton_key, start_by, finish_s, finish_by, started, throttled_seq)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                rf.run_id,
                rf.function_slug,
                rf.priority,
                json.dumps(rf.slot_keys or []),
                rf.throttle_key,
                rf.singleton_key,
                rf.start_by,
                rf.finish_s,
                rf.finish_by,
                rf.started,
                rf.throttled_seq,
            ),
        )

    def get_run(self, run_id: str) -> RunFlow | None:
        row = self.state.query_one("SELECT * FROM flow_runs WHERE run_id = ?", (run_id,))
        if row is None:
            return None
        return RunFlow(
            run_id=row["run_id"],
            function_slug=row["function_slug"],
            priority=row["priority"],
            slot_keys=[(k, int(n)) for k, n in json.loads(row["slot_keys"])],
            throttle_key=row["throttle_key"],
            singleton_key=row["singleton_key"],
            start_by=row["start_by"],
            finish_s=row["finish_s"],
            finish_by=row["finish_by"],
            started=row["started"],
            throttled_seq=row["throttled_seq"],
        )

    def active_singleton(self, slug: str, key: str) -> list[Run]:
        rows = self.state.query(
            "SELECT r.* FROM runs r JOIN flow_runs f ON f.run_id = r.run_id"
            " WHERE f.function_slug = ? AND f.singleton_key = ? AND r.status IN (?, ?) ORDER BY r.run_id",
            (slug, key, *ACTIVE),
        )
        return [Run.from_row(r) for r in rows]

    def expired_runs(self, now: float) -> list[tuple[Run, RunFlow]]:
        rows = self.state.query(
            "SELECT f.run_id FROM flow_runs f JOIN runs r ON r.run_id = f.run_id WHERE r.status IN (?, ?)"
            " AND ((f.started IS NULL AND f.start_by <= ?) OR f.finish_by <= ?)",
            (*ACTIVE, now, now),
        )
        out = []
        for row in rows:
            run, rf = self.state.get_run(row["run_id"]), self.get_run(row["run_id"])
            if run is not None and rf is not None:
                out.append((run, rf))
        return out

    def next_deadline(self) -> float | None:
        row = self.state.query_one(
            "SELECT MIN(CASE WHEN f.started IS NULL THEN f.start_by ELSE f.finish_by END) AS at"
            " FROM flow_runs f JOIN runs r ON r.run_id = f.run_id WHERE r.status IN (?, ?)",
            ACTIVE,
        )
        return None if row is None else row["at"]

    # --- pending debounces and batches
    def get_pending(self, kind: str, slug: str, key: str) -> Pending | None:
        row = self.state.query_one(
            "SELECT * FROM flow_pending WHERE kind = ? AND function_slug = ? AND key = ?", (kind, slug, key)
        )
        return None if row is None else _pending(row)

    def save_pending(self, p: Pending) -> None:
        self.state.execute(
            "INSERT OR REPLACE INTO flow_pending (kind, function_slug, key, events, first_at, due)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (p.kind, p.function_slug, p.key, json.dumps(p.events), p.first_at, p.due),
        )

    def drop_pending(self, p: Pending) -> None:
        self.state.execute(
            "DELETE FROM flow_pending WHERE kind = ? AND function_slug = ? AND key = ?",
            (p.kind, p.function_slug, p.key),
        )

    def due_pending(self, now: float) -> list[Pending]:
        rows = self.state.query("SELECT * FROM flow_pending WHERE due <= ? ORDER BY due", (now,))
        return [_pending(r) for r in rows]

    def next_pending(self) -> float | None:
        row = self.state.query_one("SELECT MIN(due) AS at FROM flow_pending")
        return None if row is None else row["at"]

    # --- GCRA state (throttle, rateLimit)
    def tat(self, kind: str, slug: str, key: str) -> float | None:
        row = self.state.query_one(
            "SELECT tat FROM flow_gcra WHERE kind = ? AND function_slug = ? AND key = ?", (kind, slug, key)
        )
        return None if row is None else float(row["tat"])

    def set_tat(self, kind: str, slug: str, key: str, tat: float) -> None:
        self.state.execute(
            "INSERT OR REPLACE INTO flow_gcra (kind, function_slug, key, tat) VALUES (?, ?, ?, ?)",
            (kind, slug, key, tat),
        )

    # --- decisions that have no run (or no run yet): shown per event
    def log(
        self, at: float, event_id: str, slug: str, decision: str, key: str, run_id: str | None, detail: str
    ) -> None:
        self.state.execute(
            "INSERT INTO flow_log (at, event_id, function_slug, decision, key, run_id, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (at, event_id, slug, decision, key, run_id, detail),
        )

    def set_log_run(self, event_ids: list[str], slug: str, run_id: str) -> None:
        for event_id in event_ids:
            self.state.execute(
                "UPDATE flow_log SET run_id = ? WHERE event_id = ? AND function_slug = ? AND run_id IS NULL",
                (run_id, event_id, slug),
            )

    def decisions(self, event_id: str) -> list[dict[str, Any]]:
        rows = self.state.query("SELECT * FROM flow_log WHERE event_id = ? ORDER BY seq", (event_id,))
        return [dict(r) for r in rows]


def _pending(row: Any) -> Pending:
    return Pending(
        kind=row["kind"],
        function_slug=row["function_slug"],
        key=row["key"],
        events=[(i, e) for i, e in json.loads(row["events"])],
        first_at=row["first_at"],
        due=row["due"],
    )
