"""A refund that needs a manager's approval: the Inngest function `more_inngest.ipynb` tests.

`refund_function(client)` builds it on any client: the app's own in production, a plain
client for the SDK's mocked runner in unit tests, or a running kit stack's client in an
integration test (`test_refunds.py` beside this file does both).
"""

from __future__ import annotations

import datetime
from typing import Any

import inngest

ORDERS = {"A-1": 40.0, "B-2": 15.5}  # stands in for the order database
PAID: list[tuple[str, float]] = []  # every payment pay_back made, for the tests to read


def pay_back(order_id: str, amount: float) -> str:
    """Stands in for the payment provider: a side effect that must happen once."""
    PAID.append((order_id, amount))
    return f"paid {amount} back for {order_id}"


def refund_function(client: inngest.Inngest) -> inngest.Function[Any]:
    @client.create_function(
        fn_id="refund", trigger=inngest.TriggerEvent(event="shop/refund.requested"), retries=2
    )
    async def refund(ctx: inngest.Context) -> dict[str, Any]:
        order_id = ctx.event.data["order_id"]
        amount = await ctx.step.run("look-up-amount", lambda: ORDERS[order_id])
        approval = await ctx.step.wait_for_event(
            "wait-for-approval",
            event="shop/refund.approved",
            if_exp="async.data.order_id == event.data.order_id",
            timeout=datetime.timedelta(hours=1),
        )
        if approval is None:
            return {"order_id": order_id, "refunded": 0.0, "why": "nobody approved within the hour"}
        await ctx.step.run("pay-back", pay_back, order_id, amount)
        return {"order_id": order_id, "refunded": amount, "approved_by": approval.data["by"]}

    return refund
