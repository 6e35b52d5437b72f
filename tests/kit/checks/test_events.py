"""The event checks (the sender's id, the function's idempotency, a matched wait, cancel,
invoke) reject plausible wrong answers with the sentence that says why, and accept
differently written right ones."""

from __future__ import annotations

import datetime
import uuid

import inngest

from learninngest import kit
from learninngest.kit import checks
from learninngest.kit.stack import Stack
from tests.kit.checks.conftest import verdict


def test_dedupe(stack: Stack) -> None:
    warehouse = checks.Warehouse()

    @stack.function(fn_id="ex-order", trigger=inngest.TriggerEvent(event="exercise/order.placed"))
    async def fulfil(ctx: inngest.Context) -> str:
        return await ctx.step.run("ship", warehouse.ship, ctx.event.data["order_id"])

    def no_id(order_id: str) -> str:  # the handout
        return kit.send_event("exercise/order.placed", {"order_id": order_id})[0]

    def new_id_every_time(order_id: str) -> str:
        return kit.send_event(
            "exercise/order.placed", {"order_id": order_id}, id=f"the-order-{uuid.uuid4()}"
        )[0]

    constant = f"order-{uuid.uuid4().hex[:6]}"

    def same_id_always(order_id: str) -> str:
        return kit.send_event("exercise/order.placed", {"order_id": order_id}, id=constant)[0]

    # One run, not two: the old check said "started 2 runs" when one had started.
    verdict(checks.dedupe(no_id, fulfil, warehouse), r"started 2 runs; expected 1")
    verdict(checks.dedupe(new_id_every_time, fulfil, warehouse), r"started 2 runs; expected 1")
    verdict(checks.dedupe(same_id_always, fulfil, warehouse), "a different order started no run")

    def by_order(order_id: str) -> str:
        return kit.send_event("exercise/order.placed", {"order_id": order_id}, id=f"order-placed-{order_id}")[
            0
        ]

    def the_order_id_itself(order_id: str) -> str:
        ids = kit.send_event("exercise/order.placed", {"order_id": order_id}, id=order_id)
        return ids[0]

    assert checks.dedupe(by_order, fulfil, warehouse) == "passed"
    assert checks.dedupe(the_order_id_itself, fulfil, warehouse) == "passed"

    sent: dict[str, str] = {}

    def remembers_what_it_sent(order_id: str) -> str:  # both calls give one event id: one run, counted once
        if order_id not in sent:
            sent[order_id] = by_order(order_id)
        return sent[order_id]

    assert checks.dedupe(remembers_what_it_sent, fulfil, warehouse) == "passed"


def test_idempotency(stack: Stack) -> None:
    bank = checks.Bank()
    trigger = inngest.TriggerEvent(event="exercise/checkout")

    async def charge(ctx: inngest.Context) -> str:
        return await ctx.step.run("charge", bank.charge, ctx.event.data["cart_id"], ctx.event.data["total"])

    handout = stack.function(fn_id="ex-checkout", trigger=trigger)(charge)
    verdict(checks.idempotency(handout, bank), "started a second run", "charged 2 times")
    one_at_a_time = stack.function(
        fn_id="ex-checkout",
        trigger=trigger,
        concurrency=[inngest.Concurrency(limit=1, key="event.data.cart_id")],
    )(charge)
    verdict(checks.idempotency(one_at_a_time, bank), "started a second run")
    by_attempt = stack.function(fn_id="ex-checkout", trigger=trigger, idempotency="event.data.attempt")(
        charge
    )
    verdict(checks.idempotency(by_attempt, bank), "started no run")

    by_cart = stack.function(fn_id="ex-checkout", trigger=trigger, idempotency="event.data.cart_id")(charge)
    assert checks.idempotency(by_cart, bank) == "passed"
    # The real server turns idempotency into this very rate limit: one per key per 24 hours.
    once_a_day = stack.function(
        fn_id="ex-checkout",
        trigger=trigger,
        rate_limit=inngest.RateLimit(limit=1, period=datetime.timedelta(hours=24), key="event.data.cart_id"),
    )(charge)
    assert checks.idempotency(once_a_day, bank) == "passed"


def test_approval(stack: Stack) -> None:
    payroll = checks.Payroll()
    trigger = inngest.TriggerEvent(event="exercise/expense.submitted")

    @stack.function(fn_id="ex-expense", trigger=trigger)
    async def handout(ctx: inngest.Context) -> str:
        return "approved by nobody"

    verdict(checks.approval(handout, payroll), "without waiting for an approval")

    def waiting(if_exp: str | None, timeout: datetime.timedelta, by: str | None = None) -> inngest.Function:
        @stack.function(fn_id="ex-expense", trigger=trigger)
        async def expense(ctx: inngest.Context) -> str:
            approval = await ctx.step.wait_for_event(
                "wait-for-approval", event="exercise/expense.approved", if_exp=if_exp, timeout=timeout
            )
            if approval is None:
                return "expired"
            await ctx.step.run("pay", payroll.pay, ctx.event.data["expense_id"], ctx.event.data["total"])
            return f"approved by {by or approval.data['by']}"

        return expense

    matched = "async.data.expense_id == event.data.expense_id"
    two_days = datetime.timedelta(days=2)
    verdict(
        checks.approval(waiting(None, two_days), payroll), "took .*'s approval, which was for another expense"
    )
    verdict(checks.approval(waiting(matched, two_days, by="Grace"), payroll), "returned 'approved by Grace'")
    verdict(checks.approval(waiting(matched, datetime.timedelta(hours=1)), payroll), r"waits 1\.0 hours")
    assert checks.approval(waiting(matched, two_days), payroll) == "passed"

    @stack.function(fn_id="ex-expense", trigger=trigger)
    async def written_otherwise(ctx: inngest.Context) -> str:
        expense = ctx.event.data
        approved = await ctx.step.wait_for_event(
            "approval",
            event="exercise/expense.approved",
            if_exp="event.data.expense_id == async.data.expense_id",
            timeout=datetime.timedelta(hours=48),
        )
        if not approved:
            return "expired"
        await ctx.step.run("pay-expense", lambda: payroll.pay(expense["expense_id"], expense["total"]))
        return "approved by " + str(approved.data.get("by"))

    assert checks.approval(written_otherwise, payroll) == "passed"


def test_cancel(stack: Stack) -> None:
    mailer = checks.Mailer()
    trigger = inngest.TriggerEvent(event="exercise/trial.started")

    def trial_function(cancel: list[inngest.Cancel] | None) -> inngest.Function:
        @stack.function(fn_id="ex-trial", trigger=trigger, cancel=cancel)
        async def trial(ctx: inngest.Context) -> str:
            await ctx.step.sleep("three-days", datetime.timedelta(days=3))
            return await ctx.step.run(
                "remind", mailer.send, ctx.event.data["user"], "Your trial ends tomorrow"
            )

        return trial

    verdict(checks.cancel(trial_function(None), mailer), "nothing cancels a trial run")
    everyone = [inngest.Cancel(event="exercise/trial.upgraded")]
    verdict(
        checks.cancel(trial_function(everyone), mailer), "did not upgrade, but their trial was cancelled too"
    )
    misspelt = [inngest.Cancel(event="exercise/trial.upgrade", if_exp="async.data.user == event.data.user")]
    verdict(
        checks.cancel(trial_function(misspelt), mailer),
        "upgraded while the trial waited, but the run ended Completed",
    )

    same_user = [inngest.Cancel(event="exercise/trial.upgraded", if_exp="async.data.user == event.data.user")]
    assert checks.cancel(trial_function(same_user), mailer) == "passed"
    within_a_week = [
        inngest.Cancel(
            event="exercise/trial.upgraded",
            if_exp="event.data.user == async.data.user",
            timeout=datetime.timedelta(days=7),
        )
    ]
    assert checks.cancel(trial_function(within_a_week), mailer) == "passed"


def test_invoke(stack: Stack) -> None:
    office = checks.VatOffice()

    @stack.function(fn_id="ex-vat", trigger=inngest.TriggerEvent(event="exercise/vat.requested"))
    async def vat(ctx: inngest.Context) -> float:
        return await ctx.step.run(
            "compute", office.compute, ctx.event.data["country"], ctx.event.data["total"]
        )

    trigger = inngest.TriggerEvent(event="exercise/invoice")

    def bill(total: float, tax: float) -> dict:
        return {"total": total, "vat": tax, "with_vat": round(total + tax, 2)}

    @stack.function(fn_id="ex-invoice", trigger=trigger)
    async def fire_and_forget(ctx: inngest.Context) -> dict:  # the handout
        data = {"country": ctx.event.data["country"], "total": ctx.event.data["total"]}
        await ctx.step.send_event("ask-for-vat", inngest.Event(name="exercise/vat.requested", data=data))
        return bill(data["total"], 0.0)

    verdict(checks.invoke(fire_and_forget, vat, office), "invoked no function")

    @stack.function(fn_id="ex-invoice", trigger=trigger)
    async def computed_here(ctx: inngest.Context) -> dict:
        country, total = ctx.event.data["country"], ctx.event.data["total"]
        return bill(total, await ctx.step.run("vat", office.compute, country, total))

    verdict(checks.invoke(computed_here, vat, office), "invoked no function")

    @stack.function(fn_id="ex-invoice", trigger=trigger)
    async def solved(ctx: inngest.Context) -> dict:
        country, total = ctx.event.data["country"], ctx.event.data["total"]
        return bill(
            total, await ctx.step.invoke("get-vat", function=vat, data={"country": country, "total": total})
        )

    assert checks.invoke(solved, vat, office) == "passed"

    @stack.function(fn_id="ex-invoice", trigger=trigger)
    async def by_id(ctx: inngest.Context) -> dict:
        data = dict(ctx.event.data)
        tax = await ctx.step.invoke_by_id("vat", function_id="ex-vat", data=data)
        return {"total": data["total"], "vat": tax, "with_vat": round(data["total"] + float(tax), 2)}

    assert checks.invoke(by_id, vat, office) == "passed"
