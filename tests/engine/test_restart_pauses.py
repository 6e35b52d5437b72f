"""Several pauses of a run, and a parallel group's race mode, survive an engine restart."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Any

import inngest

from learninngest.engine.app import create_engine_app
from learninngest.engine.clock import Clock
from learninngest.kit.servers import BackgroundServer
from tests.engine.harness import Host, engine_settings, served
from tests.engine.test_restart import NAP, LaterClock
from tests.support import wait_for

B1_PATIENCE_S = 20.0


def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box.update(after=0, gate=threading.Event(), a1=0, b1=0)
    a2_ran = asyncio.Event()

    def after(parts: list[Any]) -> str:
        box["after"] += 1
        return " ".join(str(p) for p in parts)

    @client.create_function(fn_id="three-pauses", trigger=inngest.TriggerEvent(event="restart/pauses"))
    async def three_pauses(ctx: inngest.Context) -> str:
        def wait(step: str, name: str) -> Any:
            return ctx.step.wait_for_event(step, event=name, timeout=3 * NAP)

        nap, got_a, got_b = await ctx.group.parallel(
            (
                lambda: ctx.step.sleep("nap", NAP),
                lambda: wait("wait-a", "restart/go-a"),
                lambda: wait("wait-b", "restart/go-b"),
            )
        )
        words = [nap, got_a.data["w"] if got_a else None, got_b.data["w"] if got_b else None]
        return await ctx.step.run("after", after, words)

    async def a1() -> str:
        box["a1"] += 1
        await asyncio.to_thread(box["gate"].wait, 30)
        return "a1"

    async def a2() -> str:
        a2_ran.set()
        return "a2"

    async def b1() -> str:
        box["b1"] += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(a2_ran.wait(), B1_PATIENCE_S)
        return "b1 after a2" if a2_ran.is_set() else "b1 gave up"

    @client.create_function(fn_id="race", retries=0, trigger=inngest.TriggerEvent(event="restart/race"))
    async def race(ctx: inngest.Context) -> list[str]:
        async def branch_a() -> str:
            return await ctx.step.run("a1", a1) + "+" + await ctx.step.run("a2", a2)

        return list(
            await ctx.group.parallel(
                (branch_a, lambda: ctx.step.run("b1", b1)), parallel_mode=inngest.ParallelMode.RACE
            )
        )

    return [three_pauses, race]


def _equal(got: object, want: object) -> None:
    assert got == want, got


def test_every_pause_of_a_run_survives_a_restart(tmp_path: Path) -> None:
    """A sleep and two waits (for different events) in one group: after a restart the sleep
    ends at its own time while both waits still wait, and each event resumes its own wait."""
    settings = engine_settings(db_path=str(tmp_path / "engine.db"))
    first = BackgroundServer(create_engine_app(settings), name="engine", port=settings.port).start()
    host = Host("engine", first.url)
    try:
        with served(host, "restart-pauses", make_functions) as ctx:
            event_id = ctx.send("restart/pauses")
            run_id = ctx.wait_run(event_id, "Running")["run_id"]
            ctx.wait_step(run_id, "nap", "Sleeping")
            ctx.wait_step(run_id, "wait-a", "Waiting")
            ctx.wait_step(run_id, "wait-b", "Waiting")
            first.stop()
            # Restarted a nap later: the nap is over, the waits (3 naps long) are not.
            later = LaterClock(
                settings.time_scale, ahead=Clock(settings.time_scale).real_delay(NAP.total_seconds())
            )
            second = BackgroundServer(
                create_engine_app(settings, clock=later), name="engine", port=settings.port
            ).start()
            try:
                ctx.wait_step(run_id, "nap", "Completed")
                assert ctx.runs(event_id)[0]["status"] == "Running"
                ctx.send("restart/go-b", {"w": "b"})
                ctx.wait_step(run_id, "wait-b", "Completed")
                assert ctx.wait_step(run_id, "wait-a", "Waiting")
                ctx.send("restart/go-a", {"w": "a"})
                run = ctx.wait_run(event_id, "Completed")
                assert run["output"] == "None a b"
                assert ctx.box["after"] == 1
            finally:
                second.stop()
    finally:
        first.stop()


def test_race_mode_survives_a_restart(tmp_path: Path) -> None:
    """A race group cut mid-call by a restart still races: branch A moves on to a2 while b1
    runs (in wait mode b1 would wait for a2 in vain and give up)."""
    settings = engine_settings(db_path=str(tmp_path / "engine.db"))
    first = BackgroundServer(create_engine_app(settings), name="engine", port=settings.port).start()
    host = Host("engine", first.url)
    try:
        with served(host, "restart-race", make_functions) as ctx:
            event_id = ctx.send("restart/race")
            # Both planned steps are being called (a1 held by the gate) when the engine stops.
            wait_for(lambda: _equal((ctx.box["a1"], ctx.box["b1"]), (1, 1)))
            first.stop()
            ctx.box["gate"].set()
            second = BackgroundServer(create_engine_app(settings), name="engine", port=settings.port).start()
            try:
                run = ctx.wait_run(event_id, "Completed", timeout=B1_PATIENCE_S + 15)
                assert run["output"] == ["a1+a2", "b1 after a2"]
                assert ctx.box["a1"] == 2  # the call cut by the stop was made again
            finally:
                second.stop()
    finally:
        first.stop()
