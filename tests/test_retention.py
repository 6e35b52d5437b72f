"""How often the periodic purges run (retention.py)."""

from __future__ import annotations

import pytest

from learninngest.retention import purge_period


@pytest.mark.parametrize(("retention_s", "period"), [(0.5, 1.0), (60, 6.0), (7 * 86_400, 3600.0)])
def test_purge_period_is_a_tenth_of_retention_between_1_s_and_an_hour(
    retention_s: float, period: float
) -> None:
    assert purge_period(retention_s) == period
