"""The one Retry-After parser used by the engine and the LLM layer (pure)."""

from __future__ import annotations

import pytest

from learninngest.retry_after import seconds_until

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        ("2.5", 2.5),
        ("-4", 0.0),
        ("2026-01-01T00:00:30.500Z", 30.5),
        ("2026-01-01T00:00:10", 10.0),  # ISO without a zone is UTC
        ("Thu, 01 Jan 2026 00:01:00 GMT", 60.0),
        ("2025-12-31T23:00:00Z", 0.0),  # in the past: now
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_seconds_until(value: str | None, seconds: float | None) -> None:
    result = seconds_until(value, NOW)
    assert result == (pytest.approx(seconds) if seconds is not None else None)
