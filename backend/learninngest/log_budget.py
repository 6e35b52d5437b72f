"""At most one log line per interval for a noisy kind of event, with a count of the lines held back.

Failed API keys (api/auth_failures.py) and failed dashboard logins (engine/dashboard_auth.py)
are logged this way: each is worth knowing about, 40 identical lines a second are not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class LogBudget:
    """At most one line per `interval()` seconds; the lines held back are counted into the next."""

    def __init__(self, interval: Callable[[], float], clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval  # read each time, so a test or a setting can change it
        self._clock = clock
        self._lock = threading.Lock()
        self._next_at = 0.0
        self._held = 0

    def take(self) -> int | None:
        """None: stay quiet (counted); else the number of lines held back since the last one."""
        with self._lock:
            now = self._clock()
            if now < self._next_at:
                self._held += 1
                return None
            held, self._held = self._held, 0
            self._next_at = now + self._interval()
            return held
