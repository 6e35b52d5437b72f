"""SQLite run state: events, apps, functions, runs, the step timeline (schema in state.sql).

One connection guarded by a lock: every method is short and synchronous, so async code
calls it directly. WAL keeps readers (REST, dashboard) from blocking the run loop.

Every write of a run's row is counted (`writes`) and the run's row remembers which write it
was; a Run object loaded or saved here carries that number, so `latest(run)` can hand back
the object in hand instead of reading and decoding the row again when nothing wrote it since.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

from learninngest.engine.state.models import ACTIVE, Run, StepRow, json_text, json_value
from learninngest.migrations import Step, add_column, migrate_sqlite

DAY_S = 86400.0

_RUN_COLUMNS = [
    "run_id",
    "function_slug",
    "function_version",
    "event_id",
    "event",
    "events",
    "status",
    "started",
    "ended",
    "output",
    "memo",
    "stack",
    "planned",
    "attempt",
    "due",
    "waiting",
    "race",
    "retries",
    "wait_event",
    "parent_run_id",
    "parent_step_id",
    "cron",
    "request_version",
    "defers",
]


# Changes to state files made by older engines (schema.sql is the current shape).
MIGRATIONS = (
    Step(
        1,
        "runs: the SDK's request version",
        apply=add_column("runs", "request_version", "INTEGER NOT NULL DEFAULT -1"),
    ),
    Step(
        2,
        "runs: race mode of parallel groups",
        apply=add_column("runs", "race", "TEXT NOT NULL DEFAULT '[]'"),
    ),
    Step(3, "runs: each step's own retry", apply=add_column("runs", "retries", "TEXT NOT NULL DEFAULT '{}'")),
    Step(4, "runs: defer()", apply=add_column("runs", "defers", "TEXT NOT NULL DEFAULT ''")),
)
SCHEMA = files("learninngest.engine.state").joinpath("schema.sql")  # the current shape


class State:
    """All persistent state of one engine. `path=None` keeps it in memory."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        self._conn: sqlite3.Connection | None = None
        self.environment_id = ""
        # Writes of run rows so far (inserts, saves, purges, rolled back transactions), and the
        # write that last touched each active run (finished runs are dropped: never written again).
        self.writes = 0
        self._written_at: dict[str, int] = {}

    def open(self) -> None:
        """Connect and apply the schema (the engine's lifespan calls this; a closed state reopens)."""
        with self._lock:
            if self._conn is not None:
                return
            if self.path is not None:
                Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                ":memory:" if self.path is None else self.path, check_same_thread=False, isolation_level=None
            )
            conn.row_factory = sqlite3.Row
            if self.path is not None:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            had_waits = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'run_waits'").fetchone()
            migrate_sqlite(conn, SCHEMA.read_text(), MIGRATIONS)
            if not had_waits:
                # A state file from before several pauses (no run_waits index: the schema just
                # made it): index its waiting runs' one wait. Derived data, rebuilt when missing.
                conn.execute(
                    "INSERT OR IGNORE INTO run_waits (run_id, step_id, event)"
                    " SELECT run_id, json_extract(waiting, '$.step_id'), wait_event FROM runs"
                    " WHERE wait_event IS NOT NULL AND status IN (?, ?)",
                    ACTIVE,
                )
            self._conn = conn
            self.environment_id = self._meta("environment_id", lambda: str(uuid.uuid4()))

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("engine state is not open (is the engine running?)")
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._forget_all()

    @contextlib.contextmanager
    def tx(self) -> Iterator[None]:
        """One transaction; nested calls join the outer one."""
        with self._lock:
            if self._depth == 0:
                self._db.execute("BEGIN")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._db.execute("ROLLBACK")
                    self._forget_all()  # a run saved in it is back to an earlier row
                raise
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("COMMIT")

    def _exec(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, params)

    def _all(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(sql, params).fetchone()

    def _meta(self, key: str, default: Any) -> str:
        with self.tx():
            row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
            if row:
                return str(row["value"])
            value = default()
            self._exec("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
            return value

    # --- events
    def insert_event(
        self, internal_id: str, body: dict[str, Any], received: float, source: str, duplicate: bool
    ) -> None:
        self._exec(
            "INSERT INTO events (internal_id, id, name, body, ts, received, source, duplicate)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                internal_id,
                body["id"],
                body["name"],
                json_text(body),
                body["ts"],
                received,
                source,
                int(duplicate),
            ),
        )

    def insert_event_copy(self, internal_id: str, body: dict[str, Any], received: float) -> None:
        """Another copy of a stored event (the same seeded id, sent again): listed, never run."""
        self._exec(
            "INSERT INTO event_copies (internal_id, body, ts, received) VALUES (?, ?, ?, ?)",
            (internal_id, json_text(body), body["ts"], received),
        )

    def event_id_seen(self, sender_id: str, now: float) -> bool:
        row = self._one(
            "SELECT 1 FROM events WHERE id = ? AND received > ? LIMIT 1", (sender_id, now - DAY_S)
        )
        return row is not None

    def get_event(self, internal_id: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM events WHERE internal_id = ?", (internal_id,))
        return dict(row) if row else None

    def get_event_body(self, internal_id: str) -> dict[str, Any]:
        row = self._one("SELECT body FROM events WHERE internal_id = ?", (internal_id,))
        return json.loads(row["body"]) if row else {}

    def list_events(
        self,
        limit: int = 20,
        cursor: str | None = None,
        name: str | None = None,
        after: float | None = None,
        before: float | None = None,
    ) -> list[dict[str, Any]]:
        where, params = ["1=1"], []
        for clause, value in (
            ("internal_id < ?", cursor),
            ("name = ?", name),
            ("received > ?", after),
            ("received < ?", before),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        # Copies of a resent body are listed beside their first copy, under the same id.
        every = (
            "SELECT internal_id, id, name, body, ts, received, source, duplicate FROM events"
            " UNION ALL SELECT c.internal_id, e.id, e.name, c.body, c.ts, c.received, e.source, 1"
            " FROM event_copies c JOIN events e ON e.internal_id = c.internal_id"
        )
        sql = (
            f"SELECT * FROM ({every}) WHERE {' AND '.join(where)}"
            " ORDER BY internal_id DESC, received DESC LIMIT ?"
        )
        return [dict(r) for r in self._all(sql, (*params, limit))]

    # --- apps and functions
    def get_app(self, app_id: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM apps WHERE app_id = ?", (app_id,))
        return dict(row) if row else None

    def app_uuid_of(self, slug: str) -> str:
        """The UUID of the app function `slug` belongs to (as its sync answered it); "" if unknown."""
        row = self._one(
            "SELECT a.uuid FROM functions f JOIN apps a ON a.app_id = f.app_id WHERE f.slug = ?", (slug,)
        )
        return str(row["uuid"]) if row and row["uuid"] else ""

    def list_apps(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._all("SELECT * FROM apps ORDER BY app_id")]

    def save_app(self, app: dict[str, Any], functions: list[dict[str, Any]]) -> None:
        """Replace an app and its functions (functions no longer registered are dropped)."""
        with self.tx():
            self._exec(
                "INSERT OR REPLACE INTO apps (app_id, uuid, url, sdk, framework, checksum, synced)"
                " VALUES (:app_id, :uuid, :url, :sdk, :framework, :checksum, :synced)",
                app,
            )
            self._exec("DELETE FROM functions WHERE app_id = ?", (app["app_id"],))
            for fn in functions:
                self._exec(
                    "INSERT INTO functions (slug, uuid, app_id, name, config, version)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        fn["slug"],
                        fn["uuid"],
                        app["app_id"],
                        fn["name"],
                        json_text(fn["config"]),
                        fn["version"],
                    ),
                )

    def list_functions(self) -> list[dict[str, Any]]:
        rows = self._all("SELECT * FROM functions ORDER BY slug")
        return [dict(r) | {"config": json.loads(r["config"])} for r in rows]

    # --- runs
    def insert_run(self, run: Run) -> None:
        cols = ", ".join(_RUN_COLUMNS)
        marks = ", ".join(f":{c}" for c in _RUN_COLUMNS)
        with self._lock:
            self._exec(f"INSERT INTO runs ({cols}) VALUES ({marks})", run.to_params())
            self._written(run)

    def save_run(self, run: Run) -> None:
        sets = ", ".join(f"{c} = :{c}" for c in _RUN_COLUMNS if c != "run_id")
        waits = run.waits()
        if not (waits or run.saved_waits):  # the common case: no wait before or now
            with self._lock:
                self._exec(f"UPDATE runs SET {sets} WHERE run_id = :run_id", run.to_params())
                self._written(run)
            return
        with self.tx():
            self._exec(f"UPDATE runs SET {sets} WHERE run_id = :run_id", run.to_params())
            # Rewritten whenever the run waits (or did), so a stale copy of the run saved
            # later cannot leave the index out of step with its `waiting` column.
            self._exec("DELETE FROM run_waits WHERE run_id = ?", (run.run_id,))
            self._db.executemany(
                "INSERT INTO run_waits (run_id, step_id, event) VALUES (?, ?, ?)",
                [(run.run_id, step_id, event) for step_id, event in sorted(waits)],
            )
            self._written(run)
        run.saved_waits = waits

    def get_run(self, run_id: str) -> Run | None:
        with self._lock:
            row = self._one("SELECT * FROM runs WHERE run_id = ?", (run_id,))
            if not row:
                return None
            run = Run.from_row(row)
            run.written_at = self._written_at.get(run_id)
            return run

    def latest(self, run: Run) -> Run | None:
        """The run as stored: `run` itself when its row was not written since `run` was loaded
        or saved, else the row read again (None: gone). Changes made to `run` and not saved
        stay on it: callers use this where those are changes they would make again."""
        with self._lock:
            if run.written_at is not None and self._written_at.get(run.run_id) == run.written_at:
                return run
            return self.get_run(run.run_id)

    def _written(self, run: Run) -> None:
        """Count a write of the run's row; `run` is now what it holds."""
        self.writes += 1
        if run.finished:
            # Not written again (nothing resumes a finished run): the callers check `finished`
            # on the object they hold, and an object loaded later is read from the row.
            self._written_at.pop(run.run_id, None)
            run.written_at = None
        else:
            self._written_at[run.run_id] = run.written_at = self.writes

    def _forget_all(self) -> None:
        """Every run object in hand may be stale: the next `latest` reads each row again."""
        with self._lock:
            self.writes += 1
            self._written_at.clear()

    def runs_for_event(self, event_id: str) -> list[Run]:
        rows = self._all("SELECT * FROM runs WHERE event_id = ? ORDER BY run_id", (event_id,))
        return [Run.from_row(r) for r in rows]

    def runs_for_sender_id(self, sender_id: str) -> list[Run]:
        """The runs started by the stored event the sender gave this id (its duplicates start none)."""
        rows = self._all(
            "SELECT runs.* FROM events JOIN runs ON runs.event_id = events.internal_id"
            " WHERE events.id = ? AND events.duplicate = 0 ORDER BY runs.run_id",
            (sender_id,),
        )
        return [Run.from_row(r) for r in rows]

    def list_runs(self, limit: int = 50) -> list[Run]:
        return [
            Run.from_row(r) for r in self._all("SELECT * FROM runs ORDER BY run_id DESC LIMIT ?", (limit,))
        ]

    def due_runs(self) -> list[tuple[str, float]]:
        """Active runs with a next activation time: what to put back in the queue at start-up.

        A run with an inference in progress is due at once whatever its due time: the request
        was in memory only, so the function is asked for it again."""
        rows = self._all(
            'SELECT run_id, due, waiting LIKE \'%"kind":"ai"%\' AS inferring FROM runs'
            ' WHERE status IN (?, ?) AND (due IS NOT NULL OR waiting LIKE \'%"kind":"ai"%\')',
            ACTIVE,
        )
        return [(r["run_id"], 0.0 if r["inferring"] else r["due"]) for r in rows]

    def runs_waiting_for(self, event_name: str) -> list[Run]:
        """Active runs with a wait_for_event for this event name (any of their pauses).

        Asked for every event, mostly of a name nothing waits for. `+status` keeps SQLite from
        walking runs_by_status (every active run) instead of run_waits' few rows for the name."""
        rows = self._all(
            "SELECT * FROM runs WHERE +status IN (?, ?) AND run_id IN"
            " (SELECT run_id FROM run_waits WHERE event = ?) ORDER BY run_id",
            (*ACTIVE, event_name),
        )
        return [Run.from_row(r) for r in rows]

    def active_runs_of(self, slugs: list[str]) -> list[Run]:
        if not slugs:
            return []
        marks = ", ".join("?" for _ in slugs)
        rows = self._all(
            f"SELECT * FROM runs WHERE function_slug IN ({marks}) AND status IN (?, ?)", (*slugs, *ACTIVE)
        )
        return [Run.from_row(r) for r in rows]

    def count_runs(self) -> dict[str, int]:
        return {
            r["status"]: r["n"] for r in self._all("SELECT status, COUNT(*) AS n FROM runs GROUP BY status")
        }

    # --- the step timeline
    def add_step(self, run_id: str, **fields: Any) -> int:
        row = {
            "run_id": run_id,
            "step_id": "step",
            "name": "",
            "op": "",
            "attempt": 0,
            "status": "",
            "started": 0.0,
            "ended": None,
            "scheduled_for_intended": None,
            "intended_delay_ms": None,
            "output": None,
            "error": None,
        } | fields
        for key in ("output", "error"):
            row[key] = None if row[key] is None else json_text(row[key])
        cols = ", ".join(row)
        cur = self._exec(
            f"INSERT INTO steps ({cols}) VALUES ({', '.join('?' for _ in row)})", tuple(row.values())
        )
        return int(cur.lastrowid or 0)

    def update_step(self, seq: int, **fields: Any) -> None:
        for key in ("output", "error"):
            if key in fields and fields[key] is not None:
                fields[key] = json_text(fields[key])
        sets = ", ".join(f"{k} = ?" for k in fields)
        self._exec(f"UPDATE steps SET {sets} WHERE seq = ?", (*fields.values(), seq))

    def steps_of(self, run_id: str) -> list[StepRow]:
        rows = self._all("SELECT * FROM steps WHERE run_id = ? ORDER BY seq", (run_id,))
        return [
            cast(StepRow, dict(r) | {"output": json_value(r["output"]), "error": json_value(r["error"])})
            for r in rows
        ]

    # --- retention
    def purge(self, before: float, now: float) -> dict[str, int]:
        """Delete finished runs that ended before `before`, their steps, events older than
        `before` that no remaining run points at, and idempotency keys past their 24 h.
        Active runs, and the events they were started by, are kept whatever their age."""
        with self.tx():
            old = "SELECT run_id FROM runs WHERE status NOT IN (?, ?) AND ended IS NOT NULL AND ended < ?"
            steps = self._exec(f"DELETE FROM steps WHERE run_id IN ({old})", (*ACTIVE, before)).rowcount
            self._exec(f"DELETE FROM run_waits WHERE run_id IN ({old})", (*ACTIVE, before))
            runs = self._exec(f"DELETE FROM runs WHERE run_id IN ({old})", (*ACTIVE, before)).rowcount
            self.writes += 1  # finished runs only: none of them is in _written_at
            events = self._exec(
                "DELETE FROM events WHERE received < ?"
                " AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.event_id = events.internal_id)",
                (before,),
            ).rowcount
            self._exec("DELETE FROM event_copies WHERE internal_id NOT IN (SELECT internal_id FROM events)")
            self._exec("DELETE FROM idempotency WHERE created < ?", (now - DAY_S,))
            # Flow control: rows of purged runs and events; a TAT in the past is a key at full capacity.
            self._exec("DELETE FROM flow_runs WHERE run_id NOT IN (SELECT run_id FROM runs)")
            self._exec("DELETE FROM flow_log WHERE at < ?", (before,))
            self._exec("DELETE FROM flow_gcra WHERE tat < ?", (before,))
        return {"runs": runs, "steps": steps, "events": events}

    # --- plain SQL for the flow_* tables (engine/flow/store.py owns those queries)
    def execute(self, sql: str, params: Any = ()) -> None:
        self._exec(sql, params)

    def query(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        return self._all(sql, params)

    def query_one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        return self._one(sql, params)

    # --- idempotency keys (function config `idempotency`)
    def claim_idempotency(self, slug: str, key: str, now: float) -> bool:
        """True the first time (slug, key) is seen within 24 h."""
        with self.tx():
            row = self._one(
                "SELECT created FROM idempotency WHERE function_slug = ? AND key = ?", (slug, key)
            )
            if row and row["created"] > now - DAY_S:
                return False
            self._exec("INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?)", (slug, key, now))
            return True
