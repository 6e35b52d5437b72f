"""Pure: cron `jitter` — each cron run starts a random delay (0 to jitter seconds) after its time.

Cron runs on the virtual clock (the time scale applies), and so does its jitter.
"""

from __future__ import annotations

import random


def delay(jitter_s: float, rng: random.Random | None = None) -> float:
    if jitter_s <= 0:
        return 0.0
    return (rng or random).uniform(0.0, jitter_s)  # noqa: S311 - spreading load, not security
