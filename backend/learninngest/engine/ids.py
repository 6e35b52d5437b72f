"""Monotonic ULIDs: ids made in the same millisecond still sort in creation order."""

from __future__ import annotations

import threading

from ulid import ULID


class UlidFactory:
    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def new(self) -> str:
        with self._lock:
            value = int(ULID())
            # Same millisecond: random bits may sort lower; step one past the last id instead.
            self._last = value if value > self._last else self._last + 1
            return str(ULID.from_int(self._last))


def is_ulid(text: str) -> bool:
    try:
        ULID.from_str(text)
    except ValueError:
        return False
    return True
