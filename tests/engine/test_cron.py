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
