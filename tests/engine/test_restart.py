"""Run state survives an engine restart: sleeping and mid-call runs carry on, each completes once."""

from __future__ import annotations

import asyncio
import datetime
import threading
from pathlib import Path
from typing import Any

import httpx
import inngest

from learninngest.engine.app import create_engine_app
from learninngest.engine.clock import Clock
from learninngest.kit.servers import BackgroundServer
from tests.engine.harness import Host, engine_settings, served
from tests.support import wait_for

# Long enough that no machine, however busy, sees a nap end before the restart (864 s of
# real time at the tests' time scale); the restarted engine's clock is then moved past it.
NAP = datetime.timedelta(days=1)


class LaterClock(Clock):
    """The wall clock moved `ahead` real seconds on: the restarted engine finds every nap over."""

    def __init__(self, scale: float, ahead: float) -> None:
        super().__init__(scale)
        self.ahead = ahead

    def now(self) -> float:
        return super().now() + self.ahead


def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box.update(gate=threading.Event(), first=0, second=0, blocking=0)

    def count(key: str) -> str:
        box[key] += 1
        return key

    @client.create_function(fn_id="sleepy", trigger=inngest.TriggerEvent(event="restart/sleepy"))
    async def sleepy(ctx: inngest.Context) -> str:
        a = await ctx.step.run("first", count, "first")
        await ctx.step.sleep("nap", NAP)
        b = await ctx.step.run("second", count, "second")
        return f"{a}+{b}:{ctx.event.data['i']}"

    async def wait_for_gate() -> str:
        box["blocking"] += 1
        await asyncio.to_thread(box["gate"].wait, 30)
        return "through"

    @client.create_function(fn_id="blocked", trigger=inngest.TriggerEvent(event="restart/blocked"))
    async def blocked(ctx: inngest.Context) -> str:
        return await ctx.step.run("gate", wait_for_gate)

    return [sleepy, blocked]


def _equal(got: object, want: object) -> None:
    assert got == want, got


def test_runs_carry_on_after_restart(tmp_path: Path) -> None:
    settings = engine_settings(db_path=str(tmp_path / "engine.db"))
    first = BackgroundServer(create_engine_app(settings), name="engine", port=settings.port).start()
    host = Host("engine", first.url)
    try:
        with served(host, "restart-app", make_functions) as ctx:
            sleepy_ids = [ctx.send("restart/sleepy", {"i": i}) for i in range(4)]
            blocked_id = ctx.send("restart/blocked")
            # Both states last until the restart: a nap of a day, a call held by the gate.
            for event_id in sleepy_ids:
                run = ctx.wait_run(event_id, "Running")
                ctx.wait_step(run["run_id"], "nap", "Sleeping")
            wait_for(lambda: _equal(ctx.box["blocking"], 1))
            first.stop()  # mid-sleep for four runs, mid-call for one

            later = LaterClock(
                settings.time_scale, ahead=Clock(settings.time_scale).real_delay(NAP.total_seconds())
            )
            second = BackgroundServer(
                create_engine_app(settings, clock=later), name="engine", port=settings.port
            ).start()
            try:
                ctx.box["gate"].set()
                for i, event_id in enumerate(sleepy_ids):
                    run = ctx.wait_run(event_id, "Completed")
                    assert run["output"] == f"first+second:{i}"
                assert ctx.wait_run(blocked_id, "Completed")["output"] == "through"
                assert ctx.box["first"] == 4  # memoized before the restart: never run again
                assert ctx.box["second"] == 4  # each run completed exactly once
                assert ctx.box["blocking"] == 2  # the call cut by the stop was made again
            finally:
                second.stop()
    finally:
        first.stop()


def test_finished_runs_stay_inspectable(tmp_path: Path) -> None:
    settings = engine_settings(db_path=str(tmp_path / "engine.db"))
    with BackgroundServer(create_engine_app(settings), name="engine", port=settings.port) as server:
        host = Host("engine", server.url)
        with served(host, "restart-app", make_functions) as ctx:
            ctx.box["gate"].set()
            event_id = ctx.send("restart/blocked")
            run_id = ctx.wait_run(event_id, "Completed")["run_id"]
    with BackgroundServer(create_engine_app(settings), name="engine", port=settings.port) as server:
        resp = httpx.get(f"{server.url}/v1/runs/{run_id}")
        assert resp.json()["data"]["status"] == "Completed"
        assert httpx.get(f"{server.url}/v1/events/{event_id}/runs").json()["data"][0]["run_id"] == run_id
        apps = httpx.get(f"{server.url}/v1/apps").json()["data"]["apps"]
        assert [a["app_id"] for a in apps] == ["restart-app"]
