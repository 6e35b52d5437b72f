"""The Postgres store's schema, as numbered migrations a deploy can run (`learninngest db upgrade`).

Each migration (a migrations.Step, as for the SQLite stores) runs once, in order, in one
transaction that also records its number in `learninngest_migrations`. An advisory lock
serialises replicas that start together, so running the upgrade from every replica (the
store does it on first use) is safe.
"""

from __future__ import annotations

from learninngest.migrations import Step

MIGRATIONS: tuple[Step, ...] = (
    Step(
        1,
        "records, idempotency keys, rate-limit counters",
        """
    CREATE TABLE IF NOT EXISTS chat_records (
        request_id   TEXT PRIMARY KEY,
        status       TEXT NOT NULL,
        query        TEXT NOT NULL,
        content      TEXT,
        error        TEXT,
        model        TEXT,
        usage        JSONB,
        attempts     INTEGER,
        event_ids    JSONB NOT NULL DEFAULT '[]',
        created_at   TIMESTAMPTZ NOT NULL,
        completed_at TIMESTAMPTZ,
        owner        TEXT
    );
    CREATE INDEX IF NOT EXISTS chat_records_final_by_completion
        ON chat_records (completed_at) WHERE status <> 'pending';
    CREATE INDEX IF NOT EXISTS chat_records_pending_by_owner
        ON chat_records (owner) WHERE status = 'pending';
    -- the reconciler's question: which requests are still pending, oldest first
    CREATE INDEX IF NOT EXISTS chat_records_pending_by_creation
        ON chat_records (created_at) WHERE status = 'pending';
    CREATE TABLE IF NOT EXISTS idempotency_keys (
        key        TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE IF NOT EXISTS rate_counters (
        bucket     TEXT PRIMARY KEY,
        window_no  BIGINT NOT NULL,
        hits       INTEGER NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );
    """,
    ),
)

ADVISORY_LOCK_ID = 7_420_913_001
"""Any constant: the lock that lets one replica at a time apply migrations."""

CREATE_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS learninngest_migrations (
    version    INTEGER PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""
