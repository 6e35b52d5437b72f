"""Runs waiting for a throttle, in priority order (engine/flow/waiting.py)."""

from __future__ import annotations

from learninngest.engine.flow.waiting import Waiting


def test_the_lowest_score_waiting_for_a_key_comes_first() -> None:
    w = Waiting()
    w.add("k", "low", 100.0)
    w.add("k", "high", 40.0)
    w.add("other", "elsewhere", 1.0)
    assert w.first("k", lambda _: True) == (40.0, "high")
    w.discard("high")  # it started
    assert w.first("k", lambda _: True) == (100.0, "low")


def test_runs_that_ended_meanwhile_are_skipped_and_forgotten() -> None:
    w = Waiting()
    w.add("k", "cancelled", 1.0)
    w.add("k", "queued", 2.0)
    assert w.first("k", lambda run_id: run_id != "cancelled") == (2.0, "queued")
    assert len(w) == 1
    w.discard("queued")
    assert w.first("k", lambda _: True) is None


def test_adding_a_run_again_keeps_one_entry() -> None:
    w = Waiting()
    w.add("k", "a", 5.0)
    w.add("k", "a", 5.0)
    assert len(w) == 1 and w.first("k", lambda _: True) == (5.0, "a")
