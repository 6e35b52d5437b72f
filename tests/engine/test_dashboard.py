"""The HTML dashboard: apps, events, runs, a run's timeline, and the re-sync button."""

from __future__ import annotations

from typing import Any

import httpx
import inngest

from tests.engine.harness import local_engine, served


def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="shown", trigger=inngest.TriggerEvent(event="dash/shown"))
    async def shown(ctx: inngest.Context) -> str:
        return await ctx.step.run("visible-step", lambda: "<b>escaped</b>")

    return [shown]


def test_pages_show_apps_events_runs_and_timeline() -> None:
    with local_engine() as host, served(host, "dash-app", make_functions) as ctx:
        event_id = ctx.send("dash/shown")
        run = ctx.wait_run(event_id, "Completed")
        home = httpx.get(f"{host.url}/")
        assert home.status_code == 200 and "text/html" in home.headers["content-type"]
        for text in ("dash-app", "dash-app-shown", event_id, run["run_id"], "Re-sync apps", "Completed"):
            assert text in home.text
        page = httpx.get(f"{host.url}/runs/{run['run_id']}")
        assert "visible-step" in page.text and "&lt;b&gt;escaped&lt;/b&gt;" in page.text
        assert "<b>escaped</b>" not in page.text
        assert "No run" in httpx.get(f"{host.url}/runs/nope").text
        resync = httpx.post(f"{host.url}/dashboard/sync", data={"url": ctx.app_url})
        assert resync.status_code == 303 and resync.headers["location"] == "/"
        assert ctx.app_url in httpx.get(f"{host.url}/").text
