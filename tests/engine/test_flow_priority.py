"""Pure: priority factors and queue order (engine/flow/priority.py)."""

from __future__ import annotations

from learninngest.engine.flow import priority


def test_factor_from_the_event_clamped_to_12_hours() -> None:
    # The server's PriorityFactorMin/Max: -43,200 s and 43,200 s.
    assert priority.factor("int(event.data.p)", {"data": {"p": 120}}) == 120
    assert priority.factor("int(event.data.p)", {"data": {"p": 5000}}) == 5000
    assert priority.factor("int(event.data.p)", {"data": {"p": 90_000}}) == 43_200
    assert priority.factor("int(event.data.p)", {"data": {"p": -90_000}}) == -43_200


def test_no_integer_means_no_priority() -> None:
    assert priority.factor(None, {"data": {}}) == 0
    assert priority.factor("event.data.p", {"data": {}}) == 0
    assert priority.factor("event.data.p", {"data": {"p": "high"}}) == 0
    assert priority.factor("event.data.p", {"data": {"p": True}}) == 0
    assert priority.factor("1.5 * 100.0", {"data": {}}) == 0  # a double, even a whole one


def test_event_numbers_are_doubles_as_in_go_so_only_a_conversion_makes_them_a_factor() -> None:
    # The server decodes the event's JSON into Go's float64: `event.data.p` alone is a double.
    assert priority.factor("event.data.p", {"data": {"p": 120}}) == 0
    assert priority.factor("int(event.data.p)", {"data": {"p": 120}}) == 120
    assert priority.factor("event.data.p > 100.0 ? 300 : 0", {"data": {"p": 120}}) == 300


def test_a_higher_factor_overtakes_runs_queued_up_to_that_many_seconds_earlier() -> None:
    early = priority.queue_score(created=1000.0, factor_s=0, scale=1.0)
    late_but_urgent = priority.queue_score(created=1100.0, factor_s=120, scale=1.0)
    too_late = priority.queue_score(created=1130.0, factor_s=120, scale=1.0)
    assert late_but_urgent < early < too_late


def test_the_time_scale_applies_to_the_factor() -> None:
    assert priority.queue_score(created=10.0, factor_s=100, scale=0.01) == 9.0


def test_only_negative_factors_delay_the_start() -> None:
    assert priority.start_delay(-30) == 30.0
    assert priority.start_delay(30) == 0.0


def test_the_docs_example_with_a_ternary() -> None:
    expr = "event.data.account_type == 'enterprise' ? 120 : 0"
    assert priority.factor(expr, {"data": {"account_type": "enterprise"}}) == 120
    assert priority.factor(expr, {"data": {}}) == 0
