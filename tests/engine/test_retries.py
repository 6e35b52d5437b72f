"""Pure: attempts, backoff, Retry-After (retries.py)."""

from __future__ import annotations

import random

import pytest

from learninngest.engine.clock import parse_iso
from learninngest.engine.wire import retries


def test_max_attempts_is_retries_plus_one() -> None:
    assert retries.max_attempts({}) == 5
    assert retries.max_attempts({"steps": {"step": {"retries": {"attempts": 2}}}}) == 3
    assert retries.max_attempts({"steps": {"step": {"retries": {"attempts": 0}}}}) == 1
    assert retries.max_attempts({"steps": {"step": {"retries": {"attempts": "x"}}}}) == 5


def test_backoff_grows_and_has_bounded_jitter() -> None:
    rng = random.Random(1)
    delays = [retries.backoff_delay(n, rng) for n in range(4)]
    assert delays == sorted(delays)
    for n, delay in enumerate(delays):
        base = retries.BACKOFF_TABLE_S[n]
        assert base * 0.9 <= delay <= base * 1.1
    assert retries.backoff_delay(99, rng) <= retries.BACKOFF_TABLE_S[-1] * 1.1


def test_retry_after_forms() -> None:
    now = parse_iso("2026-01-01T00:00:00Z")
    assert retries.parse_retry_after("30", now) == 30
    assert retries.parse_retry_after("2026-01-01T00:00:30.500Z", now) == pytest.approx(30.5)
    assert retries.parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now) == pytest.approx(60)
    assert retries.parse_retry_after("2025-01-01T00:00:00Z", now) == 0  # in the past: now
    assert retries.parse_retry_after("soon", now) is None
    assert retries.parse_retry_after(None, now) is None


def test_decide() -> None:
    rng = random.Random(0)
    assert retries.decide(0, 5, rng=rng).retry
    last = retries.decide(4, 5)
    assert not last.retry and "no attempts left" in last.reason
    assert not retries.decide(0, 5, retriable=False).retry
    assert retries.decide(0, 1).retry is False
    d = retries.decide(0, 5, retry_after="7", now=0)
    assert d.retry and d.delay_s == 7 and d.reason == "retry-after"
