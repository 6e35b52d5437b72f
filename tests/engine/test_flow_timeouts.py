"""Pure: function timeouts (engine/flow/timeouts.py)."""

from __future__ import annotations

from learninngest.engine.flow import timeouts


def test_deadlines_are_scaled_from_queue_time_and_start_time() -> None:
    assert timeouts.start_deadline(100.0, 10.0, scale=0.01) == 100.1
    assert timeouts.finish_deadline(200.0, 60.0, scale=1.0) == 260.0
    assert timeouts.start_deadline(100.0, None, scale=1.0) is None


def test_start_counts_only_until_the_run_starts() -> None:
    assert timeouts.expired(start_by=10.0, finish_by=None, started=None, now=10.0) == "start"
    assert timeouts.expired(start_by=10.0, finish_by=None, started=None, now=9.9) is None
    assert timeouts.expired(start_by=10.0, finish_by=None, started=5.0, now=99.0) is None


def test_finish_counts_from_the_start() -> None:
    assert timeouts.expired(start_by=None, finish_by=20.0, started=5.0, now=20.0) == "finish"
    assert timeouts.expired(start_by=None, finish_by=20.0, started=5.0, now=19.0) is None


def test_reasons_name_the_option_and_the_limit() -> None:
    assert (
        timeouts.reason("start", 10.0) == "timeouts.start: the run did not start within 10s of being queued"
    )
    assert "timeouts.finish" in timeouts.reason("finish", 300.0) and "300s" in timeouts.reason(
        "finish", 300.0
    )
