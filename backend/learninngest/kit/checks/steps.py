"""Checks about steps: memoized results (the replay), retries inside a step, steps in parallel."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from learninngest.kit.checks.base import (
    NotYet,
    amount,
    check,
    choice,
    count,
    failed,
    only_run,
    person,
    place,
    rows,
    sample,
    send,
    tag,
)


def _holds(output: Any, value: str) -> bool:
    return value == output or value in json.dumps(output, default=str)


# --- 1. the raffle: code outside a step runs again on every call
class RaffleDesk:
    """Draws a winner (never the same one twice in a row), announces and ships the prize.

    The courier is busy on the first shipment of each raffle, so shipping is retried.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.draws: list[str] = []
        self.announced: list[str] = []
        self.shipped: list[str] = []
        self.ship_calls = 0

    def draw(self, entrants: list[str]) -> str:
        others = [e for e in entrants if not self.draws or e != self.draws[-1]]
        winner = str(choice(others))
        self.draws.append(winner)
        return winner

    def announce(self, winner: str) -> str:
        self.announced.append(winner)
        return f"{winner} wins the raffle"

    def ship(self, winner: str) -> str:
        self.ship_calls += 1
        if self.ship_calls == 1:
            raise RuntimeError("courier busy, try again later")
        self.shipped.append(winner)
        return f"prize shipped to {winner}"


@check
def replay(function: Any, desk: RaffleDesk) -> None:
    """One draw per raffle, and the winner announced, shipped and returned is that one."""
    desk.reset()
    entrants = [person() for _ in range(6)]
    run = only_run(send("exercise/raffle", {"entrants": entrants}), function, "exercise/raffle")
    if run["status"] != "Completed":
        raise failed(run)
    if not desk.draws:
        raise NotYet("nobody was drawn: keep calling raffle_desk.draw(entrants)")
    if len(desk.draws) > 1:
        raise NotYet(
            f"one raffle was drawn {len(desk.draws)} times ({', '.join(desk.draws)}): Inngest calls "
            "the function again after every step, and each call runs the code outside steps again; "
            "only what a step returns is kept"
        )
    winner = desk.draws[0]
    if desk.announced != [winner] or desk.shipped != [winner] or run["output"] != winner:
        raise NotYet(
            f"{winner} was drawn, but announced: {desk.announced}, shipped to: {desk.shipped}, "
            f"returned: {run['output']!r}; all three should be the winner drawn"
        )
    if not any(r["op"] == "StepRun" and _holds(r.get("output"), winner) for r in rows(run)):
        raise NotYet(f"no step of the run returned the winner {winner!r}: draw inside a step")


# --- 2. the weather: retries inside the step that failed
class FlakyWeather:
    """A weather service that times out `fails` times in a row, then answers."""

    def __init__(self) -> None:
        self.reset(0)

    def reset(self, fails: int) -> None:
        self.fails = fails
        self.calls = 0
        self.errors: list[str] = []
        self.answer = ""
        self._sky = choice(["sunny", "cloudy", "rainy", "windy"])
        self._degrees = int(amount(-5, 35))

    def fetch(self, city: str) -> str:
        self.calls += 1
        if self.calls <= self.fails:
            message = f"weather service timed out (call {self.calls}, request {tag(6)})"
            self.errors.append(message)
            raise TimeoutError(message)
        self.answer = f"{self._sky} in {city}, {self._degrees} degrees"
        return self.answer


MAX_TIMEOUTS = 3  # the task says: up to 3 timeouts in a row


@check
def retries(function: Any, weather: FlakyWeather) -> None:
    """The run completes, and the step that returned the forecast is the one that was retried."""
    weather.reset(choice([2, MAX_TIMEOUTS]))
    city = place()
    run = only_run(send("exercise/weather", {"city": city}), function, "exercise/weather", timeout=60)
    if run["status"] != "Completed":
        raise NotYet(
            f"your run ended {run['status']} after {count(weather.calls, 'call')} of the weather "
            f"service, which timed out {weather.fails} times in a row this time (up to {MAX_TIMEOUTS} "
            "can happen): let Inngest retry often enough"
        )
    timeline = rows(run)
    done = [r for r in timeline if r["op"] == "StepRun" and r.get("output") == weather.answer]
    if not done:
        raise NotYet(
            f"the run completed, but no step returned the forecast {weather.answer!r}: "
            "the call to the service belongs inside a step"
        )
    name = done[0]["name"]
    attempts = [r for r in timeline if r["name"] == name and r["op"] in ("StepRun", "StepError")]
    if len(attempts) != weather.calls:
        raise NotYet(
            f"the weather service was called {weather.calls} times, but step {name!r} ran "
            f"{count(len(attempts), 'time')}: the retries happened outside the step (code outside "
            "a step runs again on every call; a loop inside the step hides the failures from Inngest)"
        )
    recorded = [(r.get("error") or {}).get("message") for r in attempts if r["op"] == "StepError"]
    if recorded != weather.errors:
        raise NotYet(f"step {name!r} recorded the errors {recorded}, expected the service's {weather.errors}")
    if run["output"] != weather.answer:
        raise NotYet(f"the run returned {run['output']!r}; expected the forecast, {weather.answer!r}")


# --- 9. quotes: steps in parallel
class Suppliers:
    """Suppliers that take a moment to quote; records who was asked and what they quoted."""

    def __init__(self) -> None:
        self.reset([])

    def reset(self, shops: list[str]) -> None:
        # The cheapest is never the first or the last asked: returning one of those is not
        # picking the cheapest, and must not pass by luck.
        prices = sorted(amount(20, 200) for _ in shops)
        middle = choice(list(range(1, len(shops) - 1))) if len(shops) > 2 else 0
        rest = sample(prices[1:], max(0, len(prices) - 1))
        self.prices = dict(zip(shops, [*rest[:middle], *prices[:1], *rest[middle:]], strict=True))
        self.asked: list[str] = []
        self._lock = threading.Lock()

    async def quote(self, shop: str, item: str) -> dict[str, Any]:
        with self._lock:
            self.asked.append(shop)
        await asyncio.sleep(0.2)  # a supplier takes a moment
        return {"shop": shop, "item": item, "price": self.prices.get(shop, 999.0)}


@check
def parallel(function: Any, suppliers: Suppliers) -> None:
    """The quotes were planned as one parallel group, each supplier asked once, the cheapest kept."""
    shops = [f"{town}-supplies" for town in sample([place() for _ in range(6)], choice([3, 4]))]
    suppliers.reset(shops)
    item = choice(["desk", "lamp", "chair", "shelf"]) + f"-{tag(3)}"
    event = send("exercise/quote", {"item": item, "shops": shops})
    run = only_run(event, function, "exercise/quote")
    if run["status"] != "Completed":
        raise failed(run)
    planned = [r["name"] for r in rows(run) if r["op"] == "StepPlanned"]
    if len(planned) < len(shops):
        raise NotYet(
            f"the {len(shops)} quotes ran one after another: Inngest was never asked to run "
            "steps together (a parallel group is planned first, then its steps run at once)"
        )
    if sorted(suppliers.asked) != sorted(shops):
        raise NotYet(f"the suppliers asked were {suppliers.asked}; expected each of {shops} once")
    cheapest = min(shops, key=suppliers.prices.__getitem__)
    want = {"shop": cheapest, "item": item, "price": suppliers.prices[cheapest]}
    if run["output"] != want:
        raise NotYet(f"the run returned {run['output']!r}; expected the cheapest quote, {want!r}")
