"""Retention shared by the backend's store and the engine: how often a purge runs.

Constants and one pure function, so both periodic purges follow the same rule.
"""

from __future__ import annotations

DEFAULT_RETENTION_S = 7 * 86_400
"""A week: how long finished results (RESULT_RETENTION_S) and finished runs (--retention) stay."""

MAX_PURGE_PERIOD_S = 3600.0


def purge_period(retention_s: float) -> float:
    """How often to purge: a tenth of the retention, between 1 s and an hour.

    So nothing outlives its retention by more than ~10 %, and a week's retention costs
    one cheap DELETE an hour.
    """
    return min(MAX_PURGE_PERIOD_S, max(1.0, retention_s / 10))
