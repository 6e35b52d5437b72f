"""The shared migration runner (migrations.py) on real SQLite files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from learninngest.migrations import Step, add_column, migrate_sqlite, pending

BASELINE = "CREATE TABLE IF NOT EXISTS t (a TEXT);"
STEPS = (
    Step(1, "b", apply=add_column("t", "b", "TEXT")),
    Step(
        2,
        "an index and a row",
        sql="CREATE INDEX IF NOT EXISTS t_by_a ON t (a);\nINSERT INTO t (a) VALUES ('x');",
    ),
)


def _open(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_each_step_runs_once_and_the_version_is_recorded(tmp_path: Path) -> None:
    conn = _open(tmp_path / "db.sqlite")
    assert migrate_sqlite(conn, BASELINE, STEPS) == [1, 2]
    assert migrate_sqlite(conn, BASELINE, STEPS) == []
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 1  # step 2 ran once


def test_a_file_made_before_numbering_keeps_what_it_has(tmp_path: Path) -> None:
    conn = _open(tmp_path / "old.sqlite")
    conn.execute("CREATE TABLE t (a TEXT, b TEXT)")  # it already has step 1's column
    assert migrate_sqlite(conn, BASELINE, STEPS) == [1, 2]
    assert [row[1] for row in conn.execute("PRAGMA table_info(t)")] == ["a", "b"]


def test_a_failing_step_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    conn = _open(tmp_path / "db.sqlite")
    broken = (*STEPS, Step(3, "broken", sql="INSERT INTO nowhere VALUES (1);"))
    with pytest.raises(sqlite3.OperationalError):
        migrate_sqlite(conn, BASELINE, broken)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0


def test_steps_must_be_numbered_in_order() -> None:
    assert [s.version for s in pending(STEPS, [1])] == [2]
    with pytest.raises(ValueError, match="numbered 1..2"):
        pending((STEPS[1], STEPS[0]), [])
