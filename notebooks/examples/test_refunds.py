"""Tests of `refunds.py`: unit tests with the SDK's mocked runner, then one on a real engine.

Run them with `pytest notebooks/examples` (the lesson in `more_inngest.ipynb` does).
"""

from __future__ import annotations

from collections.abc import Iterator

import inngest
import pytest
import refunds
from inngest.experimental import mocked

from learninngest import kit

REQUESTED = inngest.Event(name="shop/refund.requested", data={"order_id": "A-1"})
APPROVED = inngest.Event(name="shop/refund.approved", data={"order_id": "A-1", "by": "Grace"})

# Unit tests: no server. mocked.trigger calls the function the way Inngest does (again
# after each step, retrying failures at once); steps run for real, a wait needs a stub.
refund = refunds.refund_function(inngest.Inngest(app_id="shop", is_production=False))
runner = mocked.Inngest(app_id="test")


@pytest.fixture(autouse=True)
def no_payments_yet() -> None:
    refunds.PAID.clear()


def test_an_approved_refund_pays_the_amount_back_once() -> None:
    result = mocked.trigger(refund, REQUESTED, runner, step_stubs={"wait-for-approval": APPROVED})
    assert result.status is mocked.Status.COMPLETED
    assert result.output == {"order_id": "A-1", "refunded": 40.0, "approved_by": "Grace"}
    assert refunds.PAID == [("A-1", 40.0)]  # once, though the function was called once per step


def test_without_an_approval_nothing_is_paid() -> None:
    result = mocked.trigger(refund, REQUESTED, runner, step_stubs={"wait-for-approval": mocked.Timeout})
    assert result.output == {"order_id": "A-1", "refunded": 0.0, "why": "nobody approved within the hour"}
    assert refunds.PAID == []


def test_an_unknown_order_fails_after_its_retries() -> None:
    unknown = inngest.Event(name="shop/refund.requested", data={"order_id": "Z-9"})
    result = mocked.trigger(refund, unknown, runner)
    assert result.status is mocked.Status.FAILED
    assert isinstance(result.error, KeyError)


# Integration test: the same function served by the kit's backend, run by the local engine
# over HTTP; slower, but it checks what a stub cannot: the wait matches the real event.
@pytest.fixture(scope="module")
def stack() -> Iterator[kit.Stack]:
    # The engine on real time: the wait's hour cannot run out before the approval arrives,
    # however slow the machine.
    yield kit.up(engine_db="memory", result_store_url="memory://", log_level="ERROR")
    kit.down()


def test_on_the_engine_the_run_waits_for_its_own_approval_then_pays(stack: kit.Stack) -> None:
    fn = stack.register(refunds.refund_function(stack.client))
    requested = stack.client.send_sync(REQUESTED)[0]
    kit.wait_for_step(requested, fn, "wait-for-approval")
    stack.client.send_sync(inngest.Event(name="shop/refund.approved", data={"order_id": "B-2", "by": "Ben"}))
    stack.client.send_sync(APPROVED)  # the other order's approval above did not wake this run
    run = kit.wait_for_run(requested, fn)
    assert run["output"] == {"order_id": "A-1", "refunded": 40.0, "approved_by": "Grace"}
    steps = [step["name"] for step in kit.steps_of(run["run_id"])]
    assert steps == ["look-up-amount", "wait-for-approval", "pay-back", "function"]
    assert refunds.PAID == [("A-1", 40.0)]
