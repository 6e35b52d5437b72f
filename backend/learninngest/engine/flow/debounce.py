"""Pure: when a debounced run starts.

Each event for the same key pushes the start to `period` after it (the run gets the last
event); `timeout`, when set, caps the total delay counted from the first event.
"""

from __future__ import annotations


def due(first_at: float, now: float, period: float, timeout: float | None) -> float:
    """Intended time at which the pending run starts, after an event arriving at `now`."""
    at = now + period
    if timeout is not None:
        at = min(at, first_at + timeout)
    return at
