"""Pure: cron jitter (engine/flow/jitter.py)."""

from __future__ import annotations

import random

from learninngest.engine.flow import jitter


def test_no_jitter_no_delay() -> None:
    assert jitter.delay(0.0) == 0.0


def test_delay_stays_within_the_jitter() -> None:
    rng = random.Random(7)
    delays = [jitter.delay(30.0, rng) for _ in range(200)]
    assert all(0.0 <= d <= 30.0 for d in delays) and len(set(delays)) > 100
