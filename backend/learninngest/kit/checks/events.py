"""Checks about events: a sender's id, the function's idempotency, waiting, cancelling, invoking."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from learninngest.kit.checks.base import (
    DAY,
    HOUR,
    NotYet,
    advance_clock,
    amount,
    check,
    choice,
    distinct_runs,
    engine,
    failed,
    finished,
    only_run,
    person,
    rows,
    runs,
    send,
    tag,
    wait_until,
)


# --- 4. an order sent twice (the sender's event id)
class Warehouse:
    def __init__(self) -> None:
        self.shipments: Counter[str] = Counter()

    def ship(self, order_id: str) -> str:
        self.shipments[order_id] += 1
        return f"shipped {order_id}"


@check
def dedupe(place_order: Callable[[str], Any], function: Any, warehouse: Warehouse) -> None:
    """Two sends of one order start one run; another order starts its own."""
    order, other = f"order-{tag(6)}", f"order-{tag(6)}"
    sent = [place_order(order), place_order(order)]
    if not all(isinstance(e, str) for e in sent):
        raise NotYet(f"place_order returned {sent[0]!r}; return the event id kit.send_event gives back")
    started = distinct_runs(sent, function)
    if len(started) > 1:
        raise NotYet(
            f"two calls of place_order({order!r}) started {len(started)} runs; expected 1: Inngest drops "
            "an event whose id it has already seen, so the id must be the same for the same order"
        )
    if not started:
        raise NotYet(f"place_order({order!r}) started no run: send the event exercise/order.placed")
    again = distinct_runs([place_order(other)], function)
    if not again:
        raise NotYet("a different order started no run: the event id must differ from one order to the next")
    for run_id in [*started, *again]:
        run = finished(run_id)
        if run is None or run["status"] != "Completed":
            raise NotYet(f"the order's run did not complete: {run}")
    if warehouse.shipments[order] != 1 or warehouse.shipments[other] != 1:
        raise NotYet(f"the warehouse shipped {dict(warehouse.shipments)}; expected each order once")


# --- 5. a checkout the client resends (the function's idempotency)
class Bank:
    def __init__(self) -> None:
        self.charges: Counter[str] = Counter()

    def charge(self, cart_id: str, total: float) -> str:
        self.charges[cart_id] += 1
        return f"charged {total:.2f} EUR for {cart_id}"


@check
def idempotency(function: Any, bank: Bank) -> None:
    """A resend for the same cart, an hour later, starts no run; another cart does."""
    cart, other = f"cart-{tag(6)}", f"cart-{tag(6)}"
    total = amount()
    first = only_run(
        send("exercise/checkout", {"cart_id": cart, "total": total, "attempt": 1}),
        function,
        "exercise/checkout",
    )
    if first["status"] != "Completed":
        raise failed(first)
    advance_clock(HOUR)  # the client gave up waiting and sends again
    resent = send("exercise/checkout", {"cart_id": cart, "total": total, "attempt": 2})
    fresh = send("exercise/checkout", {"cart_id": other, "total": amount(), "attempt": 1})
    if not runs(fresh, function):
        raise NotYet(
            f"a checkout of another cart, {other}, started no run: one run per cart, not one run in all"
        )
    again = runs(resent, function)
    only_run(fresh, function, "exercise/checkout")
    for run in again:
        finished(run["run_id"])
    if again:
        raise NotYet(
            f"the client's resend for {cart} (a new event, with a new id) started a second run and the "
            f"bank charged {bank.charges[cart]} times: Inngest can start at most one run per value of "
            "an expression over the event, for 24 hours"
        )
    if bank.charges[cart] != 1 or bank.charges[other] != 1:
        raise NotYet(f"the bank charged {dict(bank.charges)}; expected each cart once")


# --- 6. an expense that waits for its approval
class Payroll:
    def __init__(self) -> None:
        self.paid: dict[str, list[float]] = {}

    def pay(self, expense_id: str, total: float) -> str:
        self.paid.setdefault(expense_id, []).append(total)
        return f"paid {total:.2f} EUR for {expense_id}"


def _waiting(event_id: str, function: Any) -> dict[str, Any]:
    """The run's wait row once the run waits; NotYet if the run ends without waiting."""

    def found() -> dict[str, Any] | None:
        started = runs(event_id, function)
        if not started:
            return None
        row = next((r for r in rows(started[0]) if r["op"] == "WaitForEvent"), None)
        if row is None and started[0]["status"] in ("Completed", "Failed", "Cancelled"):
            raise NotYet(
                f"your run ended {started[0]['status']} (output {started[0].get('output')!r}) without "
                "waiting for an approval"
            )
        return row

    row = wait_until(found, 30.0)
    if row is None:
        raise NotYet("no run of the expense waited for an approval within 30 s")
    return dict(row)


@check
def approval(function: Any, payroll: Payroll) -> None:
    """The run waits two days for its own approval: pays and names the approver, or expires."""
    expense, total, boss, other_boss = f"exp-{tag(6)}", amount(), person(), person()
    submitted = send("exercise/expense.submitted", {"expense_id": expense, "total": total})
    wait = _waiting(submitted, function)
    days = (wait.get("intended_delay_ms") or 0) / 1000 / DAY
    if abs(days - 2) > 0.01:
        raise NotYet(f"your run waits {days * 24:.1f} hours for the approval; the policy says two days")
    send("exercise/expense.approved", {"expense_id": f"exp-{tag(6)}", "by": other_boss})
    send("exercise/expense.approved", {"expense_id": expense, "by": boss})
    run = only_run(submitted, function, "exercise/expense.submitted")
    if run["status"] != "Completed":
        raise failed(run)
    if run["output"] == f"approved by {other_boss}":
        raise NotYet(
            f"your run took {other_boss}'s approval, which was for another expense: wait only for "
            "the approval whose expense_id matches the submitted one"
        )
    if run["output"] != f"approved by {boss}":
        raise NotYet(
            f"after {boss}'s approval the run returned {run['output']!r}; expected 'approved by {boss}'"
        )
    if payroll.paid.get(expense) != [total]:
        raise NotYet(
            f"payroll paid {payroll.paid.get(expense)} for {expense}; "
            f"expected {total} once, after the approval"
        )
    late = f"exp-{tag(6)}"
    unanswered = send("exercise/expense.submitted", {"expense_id": late, "total": amount()})
    _waiting(unanswered, function)
    advance_clock(2 * DAY + 60)
    expired = only_run(unanswered, function, "exercise/expense.submitted")
    if expired["status"] != "Completed" or expired["output"] != "expired":
        raise NotYet(
            f"with no approval in two days the run ended {expired['status']} with {expired.get('output')!r}; "
            "expected the output 'expired' (the wait gives None when it times out)"
        )
    if late in payroll.paid:
        raise NotYet(f"payroll paid {late}, which nobody approved")


# --- 7. a trial reminder, cancelled when the user upgrades
class Mailer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, text: str) -> str:
        self.sent.append((to, text))
        return f"mail to {to}"


@check
def cancel(function: Any, mailer: Mailer) -> None:
    """An upgrade cancels that user's sleeping trial run; another user's run goes on and reminds."""
    from learninngest.kit.checks.base import config_of

    if not config_of(function).cancel:
        raise NotYet("nothing cancels a trial run yet: Inngest cancels a run on an event it is told about")
    upgrader, stayer = person(), person()
    started = {u: send("exercise/trial.started", {"user": u}) for u in (upgrader, stayer)}
    for event_id in started.values():
        _sleeping(event_id, function)
    send("exercise/trial.upgraded", {"user": upgrader})
    advance_clock(3 * DAY + 60)  # past the reminder's time
    ended = {u: only_run(e, function, "exercise/trial.started") for u, e in started.items()}
    if ended[stayer]["status"] == "Cancelled":
        raise NotYet(
            f"{stayer} did not upgrade, but their trial was cancelled too: cancel only the run of "
            "the user who upgraded (compare the upgrade's user with the trial's)"
        )
    if ended[upgrader]["status"] != "Cancelled":
        raise NotYet(
            f"{upgrader} upgraded while the trial waited, but the run ended {ended[upgrader]['status']} "
            f"(mails sent: {[to for to, _ in mailer.sent if to == upgrader]}): the upgrade should cancel it"
        )
    if ended[stayer]["status"] != "Completed":
        raise failed(ended[stayer])
    reminded = [to for to, _ in mailer.sent if to in (upgrader, stayer)]
    if reminded != [stayer]:
        raise NotYet(f"reminders went to {reminded}; expected one, to {stayer}")


def _sleeping(event_id: str, function: Any) -> None:
    """Wait (30 s at most) until the event's run sleeps: an upgrade sent sooner cancels nothing."""

    def asleep() -> bool:
        started = runs(event_id, function)
        return bool(started) and any(r["op"] == "Sleep" for r in rows(started[0]))

    wait_until(asleep, 30.0)


# --- 8. an invoice that needs another function's result
class VatOffice:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.rates = {
            country: choice([0.05, 0.1, 0.17, 0.19, 0.2, 0.21, 0.25]) for country in ("FR", "DE", "IT", "ES")
        }
        self.asked: list[tuple[str, float]] = []

    def compute(self, country: str, total: float) -> float:
        self.asked.append((country, total))
        return round(total * self.rates[country], 2)


def _invoked_events(parent_run_id: str) -> list[dict[str, Any]]:
    events = engine("/v1/events", name="inngest/function.invoked", limit=100)
    return [
        e
        for e in events
        if str(((e.get("data") or {}).get("_inngest") or {}).get("correlation_id", "")).startswith(
            parent_run_id
        )
    ]


@check
def invoke(invoice: Any, vat: Any, office: VatOffice) -> None:
    """The invoice invokes ex-vat, whose run computes the VAT once; the invoice adds it up."""
    office.reset()
    country, total = choice(sorted(office.rates)), amount()
    run = only_run(
        send("exercise/invoice", {"country": country, "total": total}), invoice, "exercise/invoice"
    )
    if run["status"] != "Completed":
        raise failed(run)
    want = round(total * office.rates[country], 2)
    if not any(r["op"] == "InvokeFunction" for r in rows(run)):
        raise NotYet(
            "the invoice invoked no function: sending an event starts ex-vat, but nothing waits for "
            "its result; a step can call another function and get its result back"
        )
    children = [r for e in _invoked_events(run["run_id"]) for r in runs(e["internal_id"], vat)]
    if not children:
        raise NotYet("the invoice invoked a function, but not ex-vat")
    child = finished(children[0]["run_id"])
    if child is None or child.get("output") != want:
        raise NotYet(
            f"the ex-vat run returned {None if child is None else child.get('output')!r}; expected {want}"
        )
    if len(office.asked) != 1:
        raise NotYet(
            f"the VAT office was asked {len(office.asked)} times; ex-vat should be the only one to ask it"
        )
    expected = {"total": total, "vat": want, "with_vat": round(total + want, 2)}
    if run["output"] != expected:
        raise NotYet(f"the invoice returned {run['output']!r}; expected {expected!r}")
