"""The exercises' checks fail an unsolved function with a sentence that says what to change,
and pass a solved one: each check is run here on both, on a real stack."""

from __future__ import annotations

import contextlib
import datetime
import threading

import inngest
import pytest

from learninngest import kit
from learninngest.kit import checks
from learninngest.kit.runs import runs_of_event
from learninngest.kit.stack import Stack
from tests.support import wait_for


def test_two_steps(stack: Stack) -> None:
    @stack.function(fn_id="ex-greet", trigger=inngest.TriggerEvent(event="exercise/greet"))
    async def one(ctx: inngest.Context) -> str:
        return await ctx.step.run("compose", lambda: f"Hello, {ctx.event.data['name']}")

    with pytest.raises(checks.NotYet, match=r"ran 1 step \(compose\); expected 2: add a second ctx.step.run"):
        checks.two_steps(one)

    @stack.function(fn_id="ex-greet", trigger=inngest.TriggerEvent(event="exercise/greet"))
    async def two(ctx: inngest.Context) -> str:
        greeting = await ctx.step.run("compose", lambda: f"Hello, {ctx.event.data['name']}")
        return await ctx.step.run("shout", lambda: greeting.upper())

    assert checks.two_steps(two).startswith("passed")


def test_two_steps_names_a_trigger_that_starts_no_run(stack: Stack) -> None:
    @stack.function(fn_id="ex-greet", trigger=inngest.TriggerEvent(event="exercise/hello"))
    async def elsewhere(ctx: inngest.Context) -> str:
        return "hi"

    with pytest.raises(
        checks.NotYet, match=r"keep the trigger inngest.TriggerEvent\(event='exercise/greet'\)"
    ):
        checks.two_steps(elsewhere, timeout=3)  # no run can come: the trigger does not match


def test_retries(stack: Stack) -> None:
    weather = checks.FlakyService(fails=2)

    @stack.function(fn_id="ex-weather", trigger=inngest.TriggerEvent(event="exercise/weather"), retries=1)
    async def too_few(ctx: inngest.Context) -> str:
        return await ctx.step.run("fetch", weather, ctx.event.data["city"])

    with pytest.raises(checks.NotYet, match="allows 1 retries: give @stack.function retries=2 or more"):
        checks.retries(too_few, weather)

    @stack.function(fn_id="ex-weather", trigger=inngest.TriggerEvent(event="exercise/weather"), retries=2)
    async def no_step(ctx: inngest.Context) -> str:
        return weather(ctx.event.data["city"])

    with pytest.raises(checks.NotYet, match='not through a step named "fetch"'):
        checks.retries(no_step, weather)

    @stack.function(fn_id="ex-weather", trigger=inngest.TriggerEvent(event="exercise/weather"), retries=2)
    async def solved(ctx: inngest.Context) -> str:
        return await ctx.step.run("fetch", weather, ctx.event.data["city"])

    assert (
        checks.retries(solved, weather) == "passed: step fetch tried 3 times, then returned 'sunny in Paris'"
    )


def test_concurrency(stack: Stack) -> None:
    async def resize(ctx: inngest.Context) -> str:
        return await ctx.step.run("resize", checks.slow_resize, ctx.event.data["photo"])

    trigger = inngest.TriggerEvent(event="exercise/photo")
    unlimited = stack.function(fn_id="ex-thumbnail", trigger=trigger)(resize)
    with pytest.raises(checks.NotYet, match=r"no concurrency limit: add concurrency=\[inngest.Concurrency"):
        checks.concurrency(unlimited)
    three = stack.function(fn_id="ex-thumbnail", trigger=trigger, concurrency=[inngest.Concurrency(limit=3)])
    with pytest.raises(checks.NotYet, match="your concurrency limit is 3; expected 2"):
        checks.concurrency(three(resize))
    two = stack.function(fn_id="ex-thumbnail", trigger=trigger, concurrency=[inngest.Concurrency(limit=2)])
    assert checks.concurrency(two(resize)).startswith("passed: 6 runs")


def test_failure_handler(stack: Stack) -> None:
    failures: list[str] = []
    trigger = inngest.TriggerEvent(event="exercise/payment")

    async def charge(ctx: inngest.Context) -> str:
        return await ctx.step.run("charge", checks.declined_card)

    async def records_nothing(ctx: inngest.Context) -> None:
        return None

    async def records_the_message(ctx: inngest.Context) -> None:
        failures.append(ctx.event.data["error"]["message"])

    no_handler = stack.function(fn_id="ex-payment", trigger=trigger, retries=0)(charge)
    with pytest.raises(checks.NotYet, match="no failure handler: write `async def record_failure"):
        checks.failure_handler(no_handler, failures)
    silent = stack.function(fn_id="ex-payment", trigger=trigger, retries=0, on_failure=records_nothing)
    with pytest.raises(checks.NotYet, match="`failures` is still empty"):
        checks.failure_handler(silent(charge), failures, timeout=3)
    solved = stack.function(fn_id="ex-payment", trigger=trigger, retries=0, on_failure=records_the_message)
    assert (
        checks.failure_handler(solved(charge), failures) == "passed: the handler recorded ['card declined']"
    )


def test_idempotent(stack: Stack) -> None:
    @stack.function(fn_id="ex-order", trigger=inngest.TriggerEvent(event="exercise/order.placed"))
    async def fulfil(ctx: inngest.Context) -> str:
        return f"shipped {ctx.event.data['order_id']}"

    def twice(order_id: str) -> str:
        return kit.send_event("exercise/order.placed", {"order_id": order_id})[0]

    def one_id_for_all(order_id: str) -> str:
        return kit.send_event("exercise/order.placed", {"order_id": order_id}, id="the-order")[0]

    def solved(order_id: str) -> str:
        return kit.send_event("exercise/order.placed", {"order_id": order_id}, id=f"placed-{order_id}")[0]

    with pytest.raises(checks.NotYet, match="started 2 runs; expected 1: give the event an id"):
        checks.idempotent(twice, fulfil)
    with pytest.raises(checks.NotYet, match="another order started no run"):
        checks.idempotent(one_id_for_all, fulfil)
    assert checks.idempotent(solved, fulfil).startswith("passed")


def test_approval(stack: Stack) -> None:
    trigger = inngest.TriggerEvent(event="exercise/expense.submitted")

    @stack.function(fn_id="ex-expense", trigger=trigger)
    async def no_wait(ctx: inngest.Context) -> str:
        return "approved by nobody"

    with pytest.raises(checks.NotYet, match="without waiting .* use ctx.step.wait_for_event"):
        checks.approval(no_wait)

    def waiting(if_exp: str | None) -> inngest.Function:
        @stack.function(fn_id="ex-expense", trigger=trigger)
        async def expense(ctx: inngest.Context) -> str:
            approval = await ctx.step.wait_for_event(
                "wait-for-approval",
                event="exercise/expense.approved",
                if_exp=if_exp,
                # 36 s at the fixture's time scale: the check's approval comes long before.
                timeout=datetime.timedelta(hours=1),
            )
            return "expired" if approval is None else f"approved by {approval.data['by']}"

        return expense

    with pytest.raises(checks.NotYet, match="took the approval of another expense: add if_exp="):
        checks.approval(waiting(None))
    solved = waiting("async.data.expense_id == event.data.expense_id")
    # The check's last run waits with no approval to come: once it waits, the hour passes.
    expire = threading.Thread(target=_advance_once_waiting, args=(stack, "-late", 3600), daemon=True)
    expire.start()
    assert checks.approval(solved) == "passed: approved by Grace; without an approval: expired"
    expire.join(30)


def _advance_once_waiting(stack: Stack, expense_suffix: str, seconds: float) -> None:
    """Move the engine's clock on once the run of that expense waits for its approval."""

    def waiting() -> None:
        events = [
            e
            for e in kit.recent_events(50, stack=stack)
            if str((e.get("data") or {}).get("expense_id", "")).endswith(expense_suffix)
        ]
        assert events, "not sent yet"
        runs = runs_of_event(events[0]["internal_id"], stack=stack)
        assert runs, "no run yet"
        steps = kit.steps_of(runs[0]["run_id"], stack=stack)
        assert any(s["op"] == "WaitForEvent" and s["status"] == "Waiting" for s in steps), steps

    with contextlib.suppress(Exception):  # a failure here shows as the check's own NotYet
        wait_for(waiting, timeout=60, interval=0.1)
        assert stack.engine is not None
        stack.engine.app.state.engine.clock.advance(seconds)
