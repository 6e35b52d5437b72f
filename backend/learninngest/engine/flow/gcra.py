"""Pure: the generic cell rate algorithm (GCRA), as throttle and rate limit use it.

`limit` arrivals per `period`, spaced by `period / limit` (the emission interval), with
`capacity` arrivals allowed at once. The state is one number per key: the theoretical
arrival time (TAT). Times here are intended seconds; the caller scales real waits.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    tat: float  # the TAT to store (unchanged when not allowed)
    retry_at: float  # when the next arrival would be allowed (== now when allowed)


def check(tat: float | None, now: float, period: float, limit: int, capacity: int) -> Verdict:
    """Admit one arrival at `now`, or say when one will be admitted."""
    if limit <= 0:
        return Verdict(False, tat if tat is not None else now, now + period)
    emission = period / limit
    tolerance = emission * max(1, capacity)
    # A TAT from long ago (or a clock that jumped) counts as "now": the key is idle.
    current = now if tat is None or tat < now - period else tat
    new_tat = max(current, now) + emission
    allow_at = new_tat - tolerance
    if now < allow_at:
        return Verdict(False, current, allow_at)
    return Verdict(True, new_tat, now)


def throttle_capacity(limit: int, burst: int) -> int:
    """Runs a throttle lets start at once: `limit` plus `burst` (the queue's GCRA)."""
    return max(1, limit + max(0, burst))


def rate_limit_capacity(limit: int) -> int:
    """Events a rate limit admits at once: one, plus a burst of a tenth of the limit."""
    return 1 + limit // 10
