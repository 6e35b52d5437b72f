"""Flow-control state survives an engine restart: a pending debounce starts its run afterwards."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import inngest

from learninngest.engine.app import create_engine_app
from learninngest.engine.clock import Clock
from learninngest.kit.servers import BackgroundServer
from tests.engine.harness import Host, engine_settings, served
from tests.engine.test_restart import LaterClock

# Long enough that no machine sees the debounce fire before the restart (864 s real at the
# tests' time scale); the restarted engine's clock is then moved past it.
PERIOD = datetime.timedelta(days=1)


def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="debounced",
        debounce=inngest.Debounce(period=PERIOD),
        trigger=inngest.TriggerEvent(event="restart/debounced"),
    )
    async def debounced(ctx: inngest.Context) -> Any:
        return ctx.event.data

    return [debounced]


def test_a_pending_debounce_starts_its_run_after_restart(tmp_path: Path) -> None:
    settings = engine_settings(db_path=str(tmp_path / "engine.db"))
    first = BackgroundServer(create_engine_app(settings), name="engine", port=settings.port).start()
    try:
        with served(Host("engine", first.url), "flow-restart", make_functions) as ctx:
            ids = ctx.send_many("restart/debounced", [{"n": 1}, {"n": 2}])
            assert [d["decision"] for d in ctx.flow(ids[1])] == ["debounced"]
            first.stop()
            later = LaterClock(settings.time_scale, ahead=Clock(settings.time_scale).real_delay(86400))
            app = create_engine_app(settings, clock=later)
            with BackgroundServer(app, name="engine", port=settings.port):
                assert ctx.wait_run(ids[1], "Completed")["output"] == {"n": 2}
                assert ctx.runs(ids[0]) == []
    finally:
        first.stop()
