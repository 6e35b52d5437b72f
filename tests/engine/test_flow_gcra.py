"""Pure: GCRA for throttle and rate limit (engine/flow/gcra.py)."""

from __future__ import annotations

from learninngest.engine.flow import gcra


def admit(
    n: int, now: float, period: float, limit: int, capacity: int, tat: float | None = None
) -> list[bool]:
    out = []
    for _ in range(n):
        verdict = gcra.check(tat, now, period, limit, capacity)
        out.append(verdict.allowed)
        tat = verdict.tat
    return out


def test_capacity_arrivals_at_once_then_limited() -> None:
    assert admit(4, now=0.0, period=60.0, limit=1, capacity=1) == [True, False, False, False]
    assert admit(4, now=0.0, period=60.0, limit=2, capacity=3) == [True, True, True, False]


def test_a_limited_arrival_learns_when_to_come_back_and_is_then_admitted() -> None:
    first = gcra.check(None, 100.0, 60.0, 1, 1)
    second = gcra.check(first.tat, 110.0, 60.0, 1, 1)
    assert not second.allowed and second.retry_at == 160.0 and second.tat == first.tat
    assert gcra.check(first.tat, second.retry_at, 60.0, 1, 1).allowed


def test_emission_interval_spaces_arrivals_evenly() -> None:
    # 6 per minute, no burst: one every 10 s.
    tat = gcra.check(None, 0.0, 60.0, 6, 1).tat
    assert not gcra.check(tat, 9.9, 60.0, 6, 1).allowed
    assert gcra.check(tat, 10.0, 60.0, 6, 1).allowed


def test_an_idle_key_starts_fresh() -> None:
    assert admit(2, now=1_000.0, period=60.0, limit=1, capacity=2, tat=5.0) == [True, True]


def test_zero_limit_admits_nothing() -> None:
    verdict = gcra.check(None, 0.0, 60.0, 0, 1)
    assert not verdict.allowed and verdict.retry_at == 60.0


def test_capacities_follow_the_real_server() -> None:
    assert gcra.throttle_capacity(limit=1, burst=0) == 1
    assert gcra.throttle_capacity(limit=3, burst=2) == 5  # limit + burst
    assert gcra.rate_limit_capacity(5) == 1  # a tenth of the limit as burst, rounded down
    assert gcra.rate_limit_capacity(30) == 4
