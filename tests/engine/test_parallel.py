"""Planned steps of a parallel group are called at once, within the global and function limits.

No timing assertions: overlap (or its absence) is read from the recorded step timeline,
whose started/ended times are those of each call.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import inngest

from learninngest.engine.clock import parse_iso
from tests.engine.harness import CaseContext, local_engine, served


def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box.update(active=0, max_active=0, calls={}, patience=0.2, met=asyncio.Event())

    async def slow(name: str) -> str:
        box["calls"][name] = box["calls"].get(name, 0) + 1
        box["active"] += 1
        box["max_active"] = max(box["max_active"], box["active"])
        if box["active"] == 2:
            box["met"].set()
        try:
            # Stay in the step until the other one comes in, for at most `patience` seconds:
            # steps that may overlap then meet however slow the machine is.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(box["met"].wait(), box["patience"])
        finally:
            box["active"] -= 1
        return name

    @client.create_function(fn_id="pair", trigger=inngest.TriggerEvent(event="parallel/pair"))
    async def pair(ctx: inngest.Context) -> list[str]:
        return list(
            await ctx.group.parallel(
                (lambda: ctx.step.run("p1", slow, "one"), lambda: ctx.step.run("p2", slow, "two"))
            )
        )

    @client.create_function(
        fn_id="pair-limited",
        concurrency=[inngest.Concurrency(limit=1)],
        trigger=inngest.TriggerEvent(event="parallel/limited"),
    )
    async def pair_limited(ctx: inngest.Context) -> list[str]:
        return list(
            await ctx.group.parallel(
                (lambda: ctx.step.run("p1", slow, "one"), lambda: ctx.step.run("p2", slow, "two"))
            )
        )

    async def flaky() -> str:
        box["calls"]["flaky"] = box["calls"].get("flaky", 0) + 1
        if box["calls"]["flaky"] == 1:
            raise ValueError("first attempt fails")
        return "flaky-ok"

    @client.create_function(
        fn_id="pair-retry", retries=2, trigger=inngest.TriggerEvent(event="parallel/retry")
    )
    async def pair_retry(ctx: inngest.Context) -> list[str]:
        return list(
            await ctx.group.parallel(
                (lambda: ctx.step.run("steady", slow, "steady"), lambda: ctx.step.run("flaky", flaky))
            )
        )

    return [pair, pair_limited, pair_retry]


def _intervals(ctx: CaseContext, run_id: str) -> dict[str, tuple[float, float]]:
    rows = [s for s in ctx.steps(run_id) if s["op"] == "StepRun" and s["status"] == "Completed"]
    return {s["name"]: (parse_iso(s["started_at"]), parse_iso(s["ended_at"])) for s in rows}


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return max(a[0], b[0]) < min(a[1], b[1])


def test_planned_steps_of_a_group_overlap() -> None:
    with local_engine() as host, served(host, "parallel", make_functions) as ctx:
        ctx.box["patience"] = 30.0  # each step waits for the other: they overlap, or this fails
        run = ctx.wait_run(ctx.send("parallel/pair"), "Completed")
        assert run["output"] == ["one", "two"]
        spans = _intervals(ctx, run["run_id"])
        assert set(spans) == {"p1", "p2"}
        assert _overlap(spans["p1"], spans["p2"]), spans
        assert ctx.box["max_active"] == 2
        assert ctx.box["calls"] == {"one": 1, "two": 1}


def test_global_limit_of_one_runs_them_one_after_the_other() -> None:
    with local_engine(max_concurrency=1) as host, served(host, "parallel", make_functions) as ctx:
        run = ctx.wait_run(ctx.send("parallel/pair"), "Completed")
        assert run["output"] == ["one", "two"]
        spans = _intervals(ctx, run["run_id"])
        assert not _overlap(spans["p1"], spans["p2"]), spans
        assert ctx.box["max_active"] == 1


def test_function_concurrency_limit_applies_to_planned_steps() -> None:
    with local_engine() as host, served(host, "parallel", make_functions) as ctx:
        runs = [ctx.wait_run(ctx.send("parallel/limited"), "Completed") for _ in range(2)]
        for run in runs:
            spans = _intervals(ctx, run["run_id"])
            assert not _overlap(spans["p1"], spans["p2"]), spans
        assert ctx.box["max_active"] == 1


def test_a_failing_step_of_a_group_retries_alone() -> None:
    with local_engine() as host, served(host, "parallel", make_functions) as ctx:
        run = ctx.wait_run(ctx.send("parallel/retry"), "Completed")
        assert run["output"] == ["steady", "flaky-ok"]
        # The step that succeeded is not called again; the flaky one retries at attempt 1.
        assert ctx.box["calls"] == {"steady": 1, "flaky": 2}
        flaky = [
            (s["op"], s["status"], s["attempt"]) for s in ctx.steps(run["run_id"]) if s["name"] == "flaky"
        ]
        assert ("StepError", "Retrying", 0) in flaky
        assert ("StepRun", "Completed", 1) in flaky


def make_group_then_step(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    async def value(name: str) -> str:
        return name

    @client.create_function(fn_id="group-then-step", trigger=inngest.TriggerEvent(event="parallel/then"))
    async def group_then_step(ctx: inngest.Context) -> list[str]:
        before = await ctx.step.run("before", value, "before")
        pair = await ctx.group.parallel(
            (lambda: ctx.step.run("p1", value, "one"), lambda: ctx.step.run("p2", value, "two"))
        )
        after = await ctx.step.run("after", value, "after")
        return [before, *pair, after]

    return [group_then_step]


def test_after_a_parallel_group_the_next_step_runs_at_once_again() -> None:
    # The real executor sets `disable_immediate_execution` once a reply holds several opcodes
    # (the group's steps come back planned), and at request version 2 (the Python SDK's)
    # clears it on the call made once no step of the group is pending (maybeResetForceStepPlan):
    # the step after the group runs at once, in that call, like the one before it.
    with local_engine() as host, served(host, "parallel", make_group_then_step) as ctx:
        run = ctx.wait_run(ctx.send("parallel/then"), "Completed")
        assert run["output"] == ["before", "one", "two", "after"]
        planned = {s["name"] for s in ctx.steps(run["run_id"]) if s["op"] == "StepPlanned"}
    assert planned == {"p1", "p2"}
