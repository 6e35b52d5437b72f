"""Check about failure handlers: the handler records the exact error of the run that failed."""

from __future__ import annotations

from typing import Any

from learninngest.kit.checks.base import (
    NotYet,
    amount,
    check,
    choice,
    only_run,
    send,
    tag,
    wait_until,
)

REASONS = ["insufficient funds", "card expired", "suspected fraud", "limit exceeded", "card blocked"]


class CardService:
    """A card service that declines every charge; each attempt gets its own bank reference."""

    def __init__(self) -> None:
        self.declines: dict[str, list[str]] = {}

    def reset(self) -> None:
        self.declines = {}
        self._reason = choice(REASONS)

    def charge(self, order_id: str, total: float) -> str:
        message = f"card declined for {total:.2f} EUR: {self._reason} (bank reference {tag(6).upper()})"
        self.declines.setdefault(order_id, []).append(message)
        raise RuntimeError(message)


@check
def failure_handler(
    function: Any, failures: dict[str, str], cards: CardService, timeout: float = 30.0
) -> None:
    """After the last attempt fails, `failures[order_id]` holds that attempt's exact message."""
    if getattr(function, "on_failure_fn_id", None) is None:
        raise NotYet("your function has no failure handler: Inngest runs one only when the function names it")
    cards.reset()
    failures.clear()
    order = f"order-{tag(5)}"
    run = only_run(
        send("exercise/payment", {"order_id": order, "total": amount()}), function, "exercise/payment"
    )
    if run["status"] != "Failed":
        raise NotYet(f"the run ended {run['status']}; the card is always declined, so it should fail")
    tried = cards.declines.get(order, [])
    if not tried:
        raise NotYet("the card service was never asked to charge the order: keep the step that charges it")
    last = tried[-1]
    if not wait_until(lambda: failures, timeout):
        raise NotYet(
            f"the run failed, but {timeout:.0f} s later `failures` is still empty: the handler should "
            "store the failed run's error message in it, under the order id"
        )
    if order not in failures:
        raise NotYet(
            f"`failures` has the keys {sorted(failures)}; expected the order id {order!r} (the handler's "
            "event carries the event of the run that failed)"
        )
    got = failures[order]
    if got in tried[:-1]:
        raise NotYet(
            f"`failures[{order!r}]` holds the error of attempt 1 of {len(tried)}; the run failed with "
            "the last one: let the handler record it, once the retries are over"
        )
    if got != last:
        raise NotYet(
            f"`failures[{order!r}]` is {got!r}; expected exactly the message the run failed with, {last!r}"
        )
    output = run.get("output")
    if isinstance(output, dict) and output.get("message") != last:
        raise NotYet(f"the engine recorded {output.get('message')!r}, not the card service's last error")
