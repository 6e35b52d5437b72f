"""Where results live: `open_store(url)` picks the backend from the URL's scheme.

sqlite:///relative/path.db   sqlite:////absolute/path.db   (the default; survives restarts)
memory://                                                  (in-process; for tests and demos)
redis://host:port/db   rediss://…                          (shared between worker processes)
postgresql://user:pass@host:port/db   postgres://…        (shared and durable; see store/postgres.py)
"""

from __future__ import annotations

from learninngest.retention import DEFAULT_RETENTION_S
from learninngest.store.base import (
    ChatRecord,
    Purged,
    ResultStore,
    Status,
    StoreUnavailable,
    Wakeups,
)
from learninngest.store.finishing import redact_url

__all__ = ["ChatRecord", "Purged", "ResultStore", "Status", "StoreUnavailable", "Wakeups", "open_store"]


def open_store(
    url: str,
    *,
    retention_s: float = DEFAULT_RETENTION_S,
    max_connections: int | None = None,
    pool_timeout_s: float | None = None,
) -> ResultStore:
    """The store for `url` (no IO yet: the first operation, or `ping()`, connects).

    Final records are kept `retention_s` seconds after they finished (see purge()).
    Redis: its pool opens at most `max_connections` and a command waits up to
    `pool_timeout_s` for a free one (REDIS_MAX_CONNECTIONS, REDIS_POOL_TIMEOUT_S).
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        from learninngest.store.sqlite import SQLiteStore

        return SQLiteStore(url, retention_s=retention_s)
    if scheme == "memory":
        from learninngest.store.memory import MemoryStore

        return MemoryStore(url, retention_s=retention_s)
    if scheme in {"redis", "rediss"}:
        try:
            from learninngest.store.redis import RedisStore
            from learninngest.store.redis_clients import DEFAULT_MAX_CONNECTIONS, DEFAULT_POOL_TIMEOUT_S
        except ImportError as exc:  # redis is an optional extra
            raise ValueError(
                f"RESULT_STORE_URL={url!r} needs the redis package: pip install 'learninngest[redis]'"
            ) from exc
        return RedisStore(
            url,
            retention_s=retention_s,
            max_connections=max_connections or DEFAULT_MAX_CONNECTIONS,
            pool_timeout_s=pool_timeout_s or DEFAULT_POOL_TIMEOUT_S,
        )
    if scheme in {"postgresql", "postgres"}:
        try:
            from learninngest.store.postgres import PostgresStore
        except ImportError as exc:  # psycopg is an optional extra
            raise ValueError(
                f"RESULT_STORE_URL={redact_url(url)!r} needs psycopg: pip install 'learninngest[postgres]'"
            ) from exc
        return PostgresStore(url, retention_s=retention_s)
    raise ValueError(
        f"RESULT_STORE_URL: unknown scheme {scheme or '(none)'!r} in {redact_url(url)!r}; "
        "use sqlite:///path.db, memory://, redis://host:port/db or postgresql://user@host:port/db"
    )
