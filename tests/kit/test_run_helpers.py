"""kit/runs.py: wait for a run or a step of a function written in a cell, print a run.

(Not test_runs.py: tests/api/test_runs.py has that name, and the test folders are not packages.)
"""

from __future__ import annotations

import datetime
import re

import httpx
import inngest
import pytest

from learninngest import kit
from learninngest.kit.stack import Stack


def test_wait_for_a_sleeping_step_then_cancel_and_print_the_run(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    @stack.function(fn_id="napper", trigger=inngest.TriggerEvent(event="demo/nap"))
    async def napper(ctx: inngest.Context) -> str:
        await ctx.step.sleep("nap", datetime.timedelta(hours=10))  # 6 min at the test's time scale
        return "woke"

    event_id = kit.send_event("demo/nap", {})[0]
    nap = kit.wait_for_step(event_id, napper, "nap")
    assert (nap["op"], nap["status"]) == ("Sleep", "Sleeping")
    assert httpx.delete(f"{stack.inngest_url}/v1/runs/{nap['run_id']}").status_code == 200
    run = kit.wait_for_run(event_id, napper)
    assert run["status"] == "Cancelled"
    kit.print_run(run)
    printed = capsys.readouterr().out
    assert printed.startswith("run of learninngest-napper: Cancelled\n")
    # The SDK sends a wake-up time; the delay is counted from when the engine reads it.
    waits = re.search(r"waits (\d+) s \(virtual\)", printed)
    assert waits is not None and 35_900 <= int(waits.group(1)) <= 36_000, printed
    assert f"dashboard: {stack.inngest_url}/runs/{run['run_id']}" in printed
    assert httpx.get(kit.run_url(run)).status_code == 200


def test_waiting_for_a_run_that_never_comes_says_what_it_saw(stack: Stack) -> None:
    event_id = kit.send_event("demo/nobody-listens", {})[0]
    with pytest.raises(TimeoutError, match="no run of learninngest-ghost in .* after 0.2 s \\(no run\\)"):
        kit.wait_for_run(event_id, "ghost", timeout=0.2)


def test_a_skipped_run_is_final_and_recent_events_filter_by_name(stack: Stack) -> None:
    @stack.function(
        fn_id="lonely",
        trigger=inngest.TriggerEvent(event="demo/lonely"),
        singleton=inngest.Singleton(key="event.data.user", mode="skip"),
    )
    async def lonely(ctx: inngest.Context) -> str:
        await ctx.step.wait_for_event(
            "hold", event="demo/lonely.release", timeout=datetime.timedelta(hours=1)
        )
        return "done"

    first = kit.send_event("demo/lonely", {"user": "ana"})[0]
    kit.wait_for_step(first, lonely, "hold")
    second = kit.send_event("demo/lonely", {"user": "ana"})[0]
    assert kit.wait_for_run(second, lonely)["status"] == "Skipped"  # final: no waiting for more
    kit.send_event("demo/lonely.release", {})
    assert kit.wait_for_run(first, lonely)["status"] == "Completed"
    named = kit.recent_events(limit=10, name="demo/lonely")
    assert [e["internal_id"] for e in named] == [second, first]  # newest first, only that name
