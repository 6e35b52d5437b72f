"""Pure: when a debounced run starts (engine/flow/debounce.py)."""

from __future__ import annotations

import pytest

from learninngest.engine.flow import debounce


def test_each_event_pushes_the_start_one_period_and_the_server_s_1_05_s_later() -> None:
    # The server enqueues the debounce's job at now + period + 50 ms + 1 s.
    assert debounce.due(first_at=0.0, now=0.0, period=10.0, timeout=None) == pytest.approx(11.05)
    assert debounce.due(first_at=0.0, now=7.0, period=10.0, timeout=None) == pytest.approx(18.05)


def test_timeout_caps_the_delay_from_the_first_event_in_whole_seconds() -> None:
    assert debounce.due(first_at=0.0, now=25.0, period=10.0, timeout=30.0) == pytest.approx(31.05)
    assert debounce.due(first_at=0.0, now=5.0, period=10.0, timeout=30.0) == pytest.approx(16.05)
    # A later event: the seconds left are rounded down (updateDebounce.lua), at least 1.
    assert debounce.due(first_at=0.0, now=25.6, period=10.0, timeout=30.0) == pytest.approx(25.6 + 4 + 1.05)
    assert debounce.due(first_at=0.0, now=29.9, period=10.0, timeout=30.0) == pytest.approx(29.9 + 1 + 1.05)
    # The first event, with a timeout shorter than the period: rounded (newDebounce).
    assert debounce.due(first_at=0.0, now=0.0, period=10.0, timeout=4.6) == pytest.approx(5 + 1.05)


def test_intended_seconds_are_scaled_to_the_engine_s_clock() -> None:
    assert debounce.due(first_at=100.0, now=100.0, period=10.0, timeout=None, scale=0.01) == pytest.approx(
        100.1105
    )
    # 30 intended seconds of timeout at a scale of 0.01: 0.3 real seconds from the first event.
    assert debounce.due(first_at=100.0, now=100.25, period=10.0, timeout=30.0, scale=0.01) == pytest.approx(
        100.25 + (5 + 1.05) * 0.01
    )
