"""Pure: when a debounced run starts.

Each event for the same key pushes the start to `period` after it (the run gets the last
event); `timeout`, when set, caps the delay counted from the first event. The server then
starts the run 1.05 s later still (pkg/execution/debounce: its job is enqueued at
`now + ttl + buffer (50 ms) + 1 s`, so that no start races the debounce's expiry and an
update at TTL 0 can finish). A ttl the timeout caps is whole seconds there, at least 1:
rounded for the first event (newDebounce), rounded down for later ones (updateDebounce.lua).
"""

from __future__ import annotations

import math

START_LAG_S = 1.05
"""Intended seconds between a debounce's period ending and its run's start (50 ms + 1 s)."""


def due(first_at: float, now: float, period: float, timeout: float | None, scale: float = 1.0) -> float:
    """Time at which the pending run starts after an event arriving at `now`.

    `first_at`, `now` and the result are the engine's (real) clock; `period` and `timeout`
    are intended seconds, each turned into real seconds by `scale`."""
    ttl = period
    if timeout is not None:
        left = (first_at + timeout * scale - now) / scale  # intended seconds until the cap
        if ttl > left:
            whole = round(left) if now <= first_at else math.floor(left + 1e-9)  # 1e-9: float noise
            ttl = max(1.0, float(whole))
    return now + (ttl + START_LAG_S) * scale
