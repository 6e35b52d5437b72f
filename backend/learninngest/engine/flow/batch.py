"""Pure: when a batch of events is handed to one run.

The batch for a key starts with its first event and is flushed when it holds `max_size`
events, or `timeout` after that first event, whichever comes first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Added:
    size: int  # events in the batch after this one
    full: bool  # flush now
    due: float  # intended time of the flush by timeout


def add(size_before: int, first_at: float | None, now: float, max_size: int, timeout: float) -> Added:
    size = size_before + 1
    start = now if first_at is None or size_before == 0 else first_at
    return Added(size, size >= max_size, start + timeout)
