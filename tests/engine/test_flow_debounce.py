"""Pure: when a debounced run starts (engine/flow/debounce.py)."""

from __future__ import annotations

from learninngest.engine.flow import debounce


def test_each_event_pushes_the_start_one_period_later() -> None:
    assert debounce.due(first_at=0.0, now=0.0, period=10.0, timeout=None) == 10.0
    assert debounce.due(first_at=0.0, now=7.0, period=10.0, timeout=None) == 17.0


def test_timeout_caps_the_delay_from_the_first_event() -> None:
    assert debounce.due(first_at=0.0, now=25.0, period=10.0, timeout=30.0) == 30.0
    assert debounce.due(first_at=0.0, now=5.0, period=10.0, timeout=30.0) == 15.0
