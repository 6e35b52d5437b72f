"""Pure: a run's priority factor and what it does to its place in the function's queue.

`priority.run` gives seconds in [-600, 600]. Among queued runs of a function the one with the
lowest `created - factor` goes first, so a factor of 120 overtakes runs queued up to two
minutes earlier; a negative factor also delays the run's start by that many seconds.
"""

from __future__ import annotations

from typing import Any

from learninngest.engine.cel.expressions import compile_expression

FACTOR_MIN, FACTOR_MAX = -600, 600


def factor(expr: str | None, event: dict[str, Any]) -> int:
    """The clamped factor; 0 without an expression or when it gives no number."""
    if not expr:
        return 0
    try:
        value = compile_expression(expr)({"event": event})
    except Exception:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(max(FACTOR_MIN, min(FACTOR_MAX, value)))


def start_delay(factor_s: int) -> float:
    """Intended seconds a run waits before it may start: only negative factors delay."""
    return float(-factor_s) if factor_s < 0 else 0.0


def queue_score(created: float, factor_s: int, scale: float) -> float:
    """Order of a queued run among its function's runs (lower goes first; real seconds)."""
    return created - factor_s * scale
