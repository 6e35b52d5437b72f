"""Pure: when a batch is handed to a run (engine/flow/batch.py)."""

from __future__ import annotations

from learninngest.engine.flow import batch


def test_the_first_event_starts_the_timeout() -> None:
    added = batch.add(0, None, now=100.0, max_size=3, timeout=5.0)
    assert (added.size, added.full, added.due) == (1, False, 105.0)


def test_later_events_keep_the_first_deadline_and_fill_the_batch() -> None:
    assert batch.add(1, 100.0, now=103.0, max_size=3, timeout=5.0).due == 105.0
    full = batch.add(2, 100.0, now=104.0, max_size=3, timeout=5.0)
    assert full.full and full.size == 3
