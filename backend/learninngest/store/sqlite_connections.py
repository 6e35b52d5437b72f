"""One open SQLite connection per thread, for one SQLite store (store/sqlite.py).

The store runs every operation in a worker thread of its own (store/sqlite.py). Opening a
connection for each one cost more than most operations themselves (open the file, read
the schema, set the busy timeout, and the prepared statements are lost on close):
`bench/sqlite_store.py` measures it. So each thread keeps the connection it opened, and
its statement cache, for the next operation.

A sqlite3 connection must not be used by two threads at once; here a connection is only
ever used by the thread that opened it (a thread-local). Connections of threads that have
ended (an event loop's executor shut down) are closed when the next one is opened, and
`close()` closes them all, also on garbage collection of the store.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable


class ThreadConnections:
    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: dict[threading.Thread, sqlite3.Connection] = {}
        # A store dropped without close() (a test, a notebook cell) still closes its files.
        self._finalizer = weakref.finalize(self, _close_all, self._open, self._lock)

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            with self._lock:
                self._close_ended_threads()
                self._open[threading.current_thread()] = conn
            self._local.conn = conn
        return conn

    def discard(self) -> None:
        """Close this thread's connection (after an error: the next operation opens a new one)."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._lock:
                self._open.pop(threading.current_thread(), None)
            conn.close()

    def close(self) -> None:
        """Close every thread's connection; the next operation of any thread opens a new one."""
        self._local = threading.local()
        _close_all(self._open, self._lock)

    @property
    def count(self) -> int:
        return len(self._open)

    def _close_ended_threads(self) -> None:
        for thread in [t for t in self._open if not t.is_alive()]:
            self._open.pop(thread).close()  # that thread will never use it again


def _close_all(open_: dict[threading.Thread, sqlite3.Connection], lock: threading.Lock) -> None:
    with lock:
        connections = list(open_.values())
        open_.clear()
    for conn in connections:
        conn.close()
