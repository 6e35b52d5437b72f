"""The failure-handler check wants the exact message of the run's last attempt, under the
order id: it rejects a missing handler, a hard-coded message, the whole error as text and
the first attempt's error, and accepts two ways of reading the failed event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import inngest

from learninngest.kit import checks
from learninngest.kit.stack import Stack
from tests.kit.checks.conftest import verdict


def payment_function(
    stack: Stack,
    cards: checks.CardService,
    handler: Callable[[inngest.Context], Awaitable[None]] | None,
    charge: Callable[..., Any] | None = None,
) -> inngest.Function:
    options: dict[str, Any] = {"on_failure": handler} if handler else {}

    @stack.function(
        fn_id="ex-payment", trigger=inngest.TriggerEvent(event="exercise/payment"), retries=1, **options
    )
    async def payment(ctx: inngest.Context) -> str:
        order, total = ctx.event.data["order_id"], ctx.event.data["total"]
        return await ctx.step.run("charge", charge or cards.charge, order, total)

    return payment


def test_failure_handler(stack: Stack) -> None:
    cards, failures = checks.CardService(), {}

    def order_of(ctx: inngest.Context) -> str:
        return str(ctx.event.data["event"]["data"]["order_id"])

    verdict(
        checks.failure_handler(payment_function(stack, cards, None), failures, cards), "no failure handler"
    )

    async def hard_coded(ctx: inngest.Context) -> None:  # the wrong answer
        failures[order_of(ctx)] = "card declined"

    verdict(
        checks.failure_handler(payment_function(stack, cards, hard_coded), failures, cards),
        r"is 'card declined'; expected exactly the message the run failed with",
    )

    async def whole_error(ctx: inngest.Context) -> None:  # the other wrong answer
        failures[order_of(ctx)] = str(ctx.event.data["error"])

    verdict(
        checks.failure_handler(payment_function(stack, cards, whole_error), failures, cards),
        "expected exactly the message the run failed with",
    )

    async def nothing(ctx: inngest.Context) -> None:
        return None

    def charge_and_note(order: str, total: float) -> str:  # notes the first error it meets
        try:
            return cards.charge(order, total)
        except RuntimeError as exc:
            failures.setdefault(order, str(exc))
            raise

    verdict(
        checks.failure_handler(payment_function(stack, cards, nothing, charge_and_note), failures, cards),
        "holds the error of attempt 1 of 2",
    )

    async def record_failure(ctx: inngest.Context) -> None:
        failures[order_of(ctx)] = ctx.event.data["error"]["message"]

    assert checks.failure_handler(payment_function(stack, cards, record_failure), failures, cards) == "passed"

    async def record_from_the_event(ctx: inngest.Context) -> None:
        failed = ctx.event.data
        error, original = failed.get("error") or {}, failed.get("event") or {}
        failures[str(original.get("data", {}).get("order_id"))] = str(error.get("message"))

    assert (
        checks.failure_handler(payment_function(stack, cards, record_from_the_event), failures, cards)
        == "passed"
    )
