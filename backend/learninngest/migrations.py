"""One way to move a database's schema forward: numbered steps, each applied once, in order.

Used by the engine's state (engine/state/db.py), the SQLite result store and the PostgreSQL
result store. A `Step` is a version number, a sentence saying why, and its SQL (or, on
SQLite, a function of the connection). Which steps a database has is recorded where the
database keeps such things: `PRAGMA user_version` on SQLite, the `learninngest_migrations`
table on PostgreSQL (store/postgres.py applies those under an advisory lock). Every step is
idempotent (`IF NOT EXISTS`, `add_column`), so a file made before the steps were numbered
(version 0) upgrades cleanly whatever it already has.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    version: int
    why: str
    sql: str = ""
    apply: Callable[[sqlite3.Connection], None] | None = None  # SQLite only: when SQL is not enough


def check_numbering(steps: Sequence[Step]) -> None:
    """Steps are numbered 1, 2, 3... in order: a gap or a swap is a mistake in the code."""
    numbers = [s.version for s in steps]
    if numbers != list(range(1, len(steps) + 1)):
        raise ValueError(f"migration steps must be numbered 1..{len(steps)} in order, got {numbers}")


def pending(steps: Sequence[Step], applied: Iterable[int]) -> list[Step]:
    """The steps still to apply, in order."""
    check_numbering(steps)
    done = set(applied)
    return [s for s in steps if s.version not in done]


def add_column(table: str, column: str, definition: str) -> Callable[[sqlite3.Connection], None]:
    """A SQLite step that adds a column unless the table has it already."""

    def apply(conn: sqlite3.Connection) -> None:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    return apply


def migrate_sqlite(conn: sqlite3.Connection, baseline: str, steps: Sequence[Step]) -> list[int]:
    """Bring a SQLite database to the newest version; returns the versions applied now.

    `baseline`: the current schema as `CREATE ... IF NOT EXISTS` (cheap, run at every open: it
    makes a new file whole and restores a dropped table). The steps above `PRAGMA user_version`
    then run in one write transaction (BEGIN IMMEDIATE: one process at a time), which records
    the new version. The connection must be in autocommit mode (isolation_level=None).
    """
    conn.executescript(baseline)
    applied: list[int] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for step in pending(steps, range(1, current + 1)):
            if step.sql:
                for statement in _statements(step.sql):
                    conn.execute(statement)
            if step.apply is not None:
                step.apply(conn)
            applied.append(step.version)
        if applied:
            conn.execute(f"PRAGMA user_version = {applied[-1]}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return applied


def _statements(sql: str) -> list[str]:
    """A script's statements (executescript would commit the transaction they belong to)."""
    out, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return [s for s in out if s.strip(" ;\n")]
