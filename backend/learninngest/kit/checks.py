"""Self-checks for notebooks/exercises.ipynb: run the student's function on the stack, say what is wrong.

Each check sends the exercise's event, waits for the run with a deadline, reads its step
timeline, and either returns a short summary or raises `NotYet` with a sentence that says
what to change. The checks read the local engine's timeline (`kit.steps_of`), so they
need the kit's own engine (the default), not the Dev Server.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import inngest

from learninngest.kit.cells import _stack, send_event, steps_of
from learninngest.kit.runs import runs_of_event, wait_for_run


class NotYet(AssertionError):  # noqa: N818 - the name is what a student reads: "NotYet: ..."
    """The exercise is not solved yet; the message says what is still wrong."""


def _config(function: Any) -> Any:
    if not isinstance(function, inngest.Function):
        raise NotYet(f"expected the function the @stack.function cell made, got {type(function).__name__}")
    return function.get_config(_stack(None).backend_url).main


def _run(event: str, data: dict[str, Any], function: inngest.Function, **kw: Any) -> dict[str, Any]:
    event_id = send_event(event, data)[0]
    try:
        return wait_for_run(event_id, function, **kw)
    except TimeoutError:
        raise NotYet(
            f"no run of {function.id} started or ended after {event!r}: "
            f"keep the trigger inngest.TriggerEvent(event={event!r}) and run the function's cell again"
        ) from None


def _step_runs(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps that ran code and succeeded (not the plan rows, sleeps or waits)."""
    return [s for s in steps_of(run["run_id"]) if s["op"] == "StepRun" and s["status"] == "Completed"]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _failed(run: dict[str, Any]) -> NotYet:
    return NotYet(f"your run failed: {run.get('output')}; run the check again once the function is fixed")


def two_steps(function: inngest.Function, timeout: float = 30.0) -> str:
    """Exercise 1: step "compose" makes the greeting, step "shout" puts it in capitals."""
    run = _run("exercise/greet", {"name": "Ada"}, function, timeout=timeout)
    if run["status"] != "Completed":
        raise _failed(run)
    names = [s["name"] for s in _step_runs(run)]
    if len(names) < 2:
        raise NotYet(
            f"your function ran {_count(len(names), 'step')} ({', '.join(names) or 'none'}); expected 2: "
            'add a second ctx.step.run, named "shout", after "compose"'
        )
    if "shout" not in names:
        raise NotYet(f'your steps are named {names}; expected one named "shout"')
    if run["output"] != "HELLO, ADA":
        raise NotYet(
            f"the run returned {run['output']!r}; expected 'HELLO, ADA': "
            'return the result of the "shout" step (greeting.upper())'
        )
    return f"passed: steps {names} returned {run['output']!r}"


class FlakyService:
    """A pretend service for exercise 2: each run's first `fails` calls time out, then it answers."""

    def __init__(self, fails: int = 2) -> None:
        self.fails = fails
        self.calls = 0

    def __call__(self, city: str) -> str:
        self.calls += 1
        if self.calls <= self.fails:
            raise RuntimeError(f"weather service timed out (call {self.calls})")
        return f"sunny in {city}"


def retries(function: inngest.Function, service: FlakyService) -> str:
    """Exercise 2: the flaky call runs in a step named "fetch", retried until it answers."""
    service.calls = 0
    run = _run("exercise/weather", {"city": "Paris"}, function)
    attempts = _config(function).steps["step"].retries.attempts
    if run["status"] != "Completed":
        raise NotYet(
            f"your run failed after {_count(service.calls, 'call')} of the weather service, which fails "
            f"{service.fails} times before it answers; your function allows {attempts} retries: "
            f"give @stack.function retries={service.fails} or more"
        )
    fetches = [s for s in steps_of(run["run_id"]) if s["name"] == "fetch"]
    if not fetches:
        raise NotYet(
            'the run completed, but not through a step named "fetch": call the service with '
            'ctx.step.run("fetch", weather, city) so that a retry repeats only that step'
        )
    if run["output"] != "sunny in Paris":
        raise NotYet(
            f"the run returned {run['output']!r}; expected 'sunny in Paris': return the step's result"
        )
    return f"passed: step fetch tried {len(fetches)} times, then returned {run['output']!r}"


def concurrency(function: inngest.Function, limit: int = 2, runs: int = 6) -> str:
    """Exercise 3: at most `limit` runs of the function execute their step at the same time."""
    limits = [c.limit for c in _config(function).concurrency or [] if c.key is None]
    if not limits:
        raise NotYet(
            f"your function has no concurrency limit: add concurrency=[inngest.Concurrency(limit={limit})] "
            "to @stack.function"
        )
    if limits[0] != limit:
        raise NotYet(f"your concurrency limit is {limits[0]}; expected {limit}")
    event_ids = [send_event("exercise/photo", {"photo": f"photo-{n}.jpg"})[0] for n in range(runs)]
    done = [wait_for_run(event_id, function) for event_id in event_ids]
    failed = [r for r in done if r["status"] != "Completed"]
    if failed:
        raise _failed(failed[0])
    spans = [s for r in done for s in _step_runs(r)]
    most = max(sum(o["started_at"] <= s["started_at"] < o["ended_at"] for o in spans) for s in spans)
    if most > limit:
        raise NotYet(f"{most} runs worked at the same time; the limit {limit} should hold them back")
    return f"passed: {runs} runs, at most {most} at the same time"


def declined_card() -> str:
    """The card service of exercise 4: it always refuses."""
    raise inngest.NonRetriableError("card declined")


def failure_handler(function: inngest.Function, failures: list[Any], timeout: float = 20.0) -> str:
    """Exercise 4: when a run fails, the failure handler appends the error message to `failures`."""
    if function.on_failure_fn_id is None:
        raise NotYet(
            "your function has no failure handler: write `async def record_failure(ctx)` and pass "
            "on_failure=record_failure to @stack.function"
        )
    failures.clear()
    run = _run("exercise/payment", {"order_id": "A-1"}, function)
    if run["status"] != "Failed":
        raise NotYet(f"the run ended {run['status']}; the card is always declined, so it should fail")
    deadline = time.monotonic() + timeout
    while not failures and time.monotonic() < deadline:
        time.sleep(0.05)
    if not failures:
        raise NotYet(
            f"the run failed, but {timeout:.0f} s later `failures` is still empty: in record_failure, "
            "append the error message to it"
        )
    if not any("card declined" in str(f) for f in failures):
        raise NotYet(
            f"`failures` holds {failures!r}; expected the error's message, 'card declined': "
            "read it from ctx.event.data['error']['message']"
        )
    return f"passed: the handler recorded {failures!r}"


def idempotent(place_order: Callable[[str], str], function: inngest.Function) -> str:
    """Exercise 5: sending the same order twice starts one run; another order starts its own."""
    order = f"order-{uuid.uuid4().hex[:8]}"  # fresh each time: the check can be run again
    first, second = place_order(order), place_order(order)
    slug = function.id
    # The engine matches triggers when the event arrives: every run these events start exists now.
    started = [r for e in (first, second) for r in runs_of_event(e) if r.get("function_slug") == slug]
    if len(started) > 1:
        raise NotYet(
            f"two calls of place_order({order!r}) started {len(started)} runs; expected 1: give the event "
            'an id made from the order, kit.send_event(..., id=f"order-placed-{order_id}") (Inngest '
            "drops a second event with an id it has seen)"
        )
    if not started:
        raise NotYet(f"place_order({order!r}) started no run: send the event exercise/order.placed")
    other = [r for r in runs_of_event(place_order(order + "-b")) if r.get("function_slug") == slug]
    if not other:
        raise NotYet(
            "another order started no run: the event id must differ per order (use the order id in it)"
        )
    wait_for_run(first, function)
    return f"passed: two sends of {order} started 1 run; another order started its own"


def approval(function: inngest.Function, timeout: float = 30.0) -> str:
    """Exercise 6: the run waits for its own approval (matched by expense id), or expires."""
    expense = f"exp-{uuid.uuid4().hex[:8]}"
    event_id = send_event("exercise/expense.submitted", {"expense_id": expense})[0]
    deadline = time.monotonic() + timeout
    waiting = None
    while waiting is None and time.monotonic() < deadline:
        runs = [r for r in runs_of_event(event_id) if r.get("function_slug") == function.id]
        if runs:
            rows = steps_of(runs[0]["run_id"])
            waiting = next((s for s in rows if s["op"] == "WaitForEvent"), None)
            if waiting is None and runs[0]["status"] in ("Completed", "Failed", "Cancelled"):
                raise NotYet(
                    f"your run ended {runs[0]['status']} without waiting (output {runs[0].get('output')!r}): "
                    'use ctx.step.wait_for_event("wait-for-approval", event="exercise/expense.approved", ...)'
                )
        time.sleep(0.05)
    if waiting is None:
        raise NotYet(f"no run of {function.id} waited for an approval within {timeout:.0f} s")
    send_event("exercise/expense.approved", {"expense_id": f"{expense}-other", "by": "Mallory"})
    send_event("exercise/expense.approved", {"expense_id": expense, "by": "Grace"})
    run = wait_for_run(event_id, function, timeout=timeout)
    if run["output"] == "approved by Mallory":
        raise NotYet(
            "your run took the approval of another expense: add "
            'if_exp="async.data.expense_id == event.data.expense_id" to wait_for_event'
        )
    if run["output"] != "approved by Grace":
        raise NotYet(f"after its approval the run returned {run['output']!r}; expected 'approved by Grace'")
    expired = _run("exercise/expense.submitted", {"expense_id": f"{expense}-late"}, function, timeout=timeout)
    if expired["output"] != "expired":
        raise NotYet(
            f"with no approval the run returned {expired['output']!r}; expected 'expired' "
            "(wait_for_event returns None when the timeout passes)"
        )
    return "passed: approved by Grace; without an approval: expired"


async def slow_resize(photo: str) -> str:
    """The slow part of exercise 3."""
    await asyncio.sleep(0.3)
    return f"thumbnail of {photo}"
