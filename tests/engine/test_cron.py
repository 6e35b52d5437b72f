"""Cron triggers fire on the engine's virtual clock: a scale of 0.001 turns minutes into 60 ms."""

from __future__ import annotations

from typing import Any

import inngest

from learninngest.engine.clock import Clock, parse_iso
from tests.engine.harness import local_engine, served
from tests.support import wait_for


def test_virtual_time_runs_one_over_scale_faster_from_the_clock_s_start() -> None:
    class Stepped(Clock):
        real = 0.0

        def now(self) -> float:
            return self.origin + self.real

    clock = Stepped(0.01)
    assert clock.virtual_now() == clock.origin
    clock.real = 6.0  # six real seconds are ten virtual minutes
    assert round(clock.virtual_now() - clock.origin, 6) == 600.0


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="minutely", trigger=inngest.TriggerCron(cron="* * * * *"))
    async def minutely(ctx: inngest.Context) -> str:
        return str(ctx.event.data["cron"])

    return [minutely]


def test_a_cron_function_runs_every_virtual_minute_with_the_minute_as_its_event_time() -> None:
    with local_engine(time_scale=0.001) as host, served(host, "case-cron", functions) as ctx:

        def three_runs() -> list[dict[str, Any]]:
            with host.rest() as rest:
                events = rest.get("/v1/events", params={"name": "inngest/scheduled.timer"}).json()["data"]
            assert len(events) >= 3, events
            return list(events)

        events = wait_for(three_runs, timeout=20)
        for event in events:
            assert event["data"] == {"cron": "* * * * *"}
            assert int(event["ts"]) % 60_000 == 0  # the virtual minute it fired for
            run = ctx.wait_run(event["internal_id"], "Completed")
            assert run["output"] == "* * * * *" and run["cron"] == "* * * * *"
        minutes = sorted(int(e["ts"]) // 60_000 for e in events)
        assert len(set(minutes)) == len(minutes)  # one run per minute, none twice
        # Virtual time ran ahead of real time: the third minute came within seconds.
        latest = max(events, key=lambda e: int(e["ts"]))
        assert int(latest["ts"]) / 1000 > parse_iso(latest["received_at"]) + 60


def hourly(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="hourly", trigger=inngest.TriggerCron(cron="0 * * * *"))
    async def on_the_hour(ctx: inngest.Context) -> str:
        return str(ctx.event.data["cron"])

    return [on_the_hour]


def test_a_cron_schedule_advances_with_the_virtual_clock_moved_by_hand() -> None:
    # The paused clock stands still: only the test's advance() brings the next hour.
    with local_engine(paused=True) as host, served(host, "case-cron-hourly", hourly) as ctx:
        assert host.clock is not None
        clock = host.clock

        def scheduled() -> list[dict[str, Any]]:
            with host.rest() as rest:
                found = rest.get("/v1/events", params={"name": "inngest/scheduled.timer"}).json()["data"]
            return list(found)

        def fired(count: int, move: bool) -> list[dict[str, Any]]:
            if move:  # until the cron has seen the function, an hour may pass unseen: move on again
                clock.advance(3600)
            events = scheduled()
            assert len(events) >= count, events
            return events

        first = wait_for(lambda: fired(1, move=True), timeout=20)
        latest = max(int(e["ts"]) for e in first)
        clock.advance(3600)  # one more hour: one more run, for the next full hour
        events = wait_for(lambda: fired(len(first) + 1, move=False), timeout=20)
        newest = max(events, key=lambda e: int(e["ts"]))
        assert int(newest["ts"]) > latest and int(newest["ts"]) % 3_600_000 == 0
        assert int(newest["ts"]) / 1000 <= clock.virtual_now()
        assert ctx.wait_run(newest["internal_id"], "Completed")["output"] == "0 * * * *"
