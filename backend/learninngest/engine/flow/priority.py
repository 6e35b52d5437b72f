"""Pure: a run's priority factor and what it does to its place in the function's queue.

`priority.run` gives seconds, clamped to [-43200, 43200] (12 h, the server's
PriorityFactorMin/Max). Among queued runs of a function the one with the lowest
`created - factor` goes first, so a factor of 120 overtakes runs queued up to two minutes
earlier; a negative factor also delays the run's start by that many seconds.

As on the server (`Function.RunPriorityFactor`), only an integer result counts: anything
else (a string, a bool, null, a double) gives 0. The server reads the event's JSON into Go,
where every number is a double, so `event.data.priority` alone gives a double there and is
ignored: the expression sees the event's numbers as doubles here too. An integer comes from
a literal (`event.data.plan == 'pro' ? 120 : 0`) or a conversion (`int(event.data.priority)`).
"""

from __future__ import annotations

from typing import Any

from learninngest.engine.cel.expressions import compile_expression

FACTOR_MIN, FACTOR_MAX = -43_200, 43_200


def factor(expr: str | None, event: dict[str, Any]) -> int:
    """The clamped factor; 0 without an expression or when it gives no integer."""
    if not expr:
        return 0
    try:
        value = compile_expression(expr)({"event": as_json_doubles(event)})
    except Exception:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return max(FACTOR_MIN, min(FACTOR_MAX, value))


def as_json_doubles(value: Any) -> Any:
    """The event as Go's encoding/json reads it: every number a double (bools stay bools)."""
    if isinstance(value, dict):
        return {k: as_json_doubles(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json_doubles(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def start_delay(factor_s: int) -> float:
    """Intended seconds a run waits before it may start: only negative factors delay."""
    return float(-factor_s) if factor_s < 0 else 0.0


def queue_score(created: float, factor_s: int, scale: float) -> float:
    """Order of a queued run among its function's runs (lower goes first; real seconds)."""
    return created - factor_s * scale
