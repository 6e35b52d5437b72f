"""Pure: how many attempts a function gets, the delay before the next one, Retry-After.

Attempts are counted per step from 0, as the SDK's ctx.attempt; `max_attempts` is
`retries + 1` (register body `steps.step.retries.attempts` = retries, default 4).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from learninngest.retry_after import seconds_until

DEFAULT_RETRIES = 4
# Close to the real server's backoff table: the delay grows with each failed attempt.
BACKOFF_TABLE_S = (15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0)
JITTER = 0.1  # +-10 %, so that runs failing together do not retry in lockstep


def max_attempts(config: dict[str, Any]) -> int:
    """`retries + 1` from a function config as registered; absent means 4 retries."""
    step = (config.get("steps") or {}).get("step") or {}
    retries = (step.get("retries") or {}).get("attempts")
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        retries = DEFAULT_RETRIES
    return retries + 1


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Intended seconds to wait after failed attempt number `attempt` (0-based), with jitter."""
    base = BACKOFF_TABLE_S[min(max(attempt, 0), len(BACKOFF_TABLE_S) - 1)]
    jitter = (rng or random).uniform(-JITTER, JITTER)
    return base * (1.0 + jitter)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After as a number of seconds, an ISO time or an RFC 1123 date -> seconds from now."""
    return seconds_until(value, now)


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    delay_s: float = 0.0  # intended delay before the next attempt
    reason: str = ""


def decide(
    attempt: int,
    attempts: int,
    *,
    retriable: bool = True,
    retry_after: str | None = None,
    now: float = 0.0,
    rng: random.Random | None = None,
) -> RetryDecision:
    """After attempt `attempt` failed: try again (and when), or give up (and why)."""
    if not retriable:
        return RetryDecision(False, reason="non-retriable error")
    if attempt + 1 >= attempts:
        return RetryDecision(False, reason=f"no attempts left ({attempts} of {attempts} used)")
    after = parse_retry_after(retry_after, now)
    if after is not None:
        return RetryDecision(True, after, reason="retry-after")
    return RetryDecision(True, backoff_delay(attempt, rng), reason="backoff")
