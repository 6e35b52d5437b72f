"""The HTML dashboard: apps, events, runs, a run's timeline, the re-sync button; the key in signed mode."""

from __future__ import annotations

import datetime
from typing import Any

import httpx
import inngest
from fastapi import FastAPI, Request

from learninngest.kit.servers import BackgroundServer
from tests.engine.harness import TEST_SIGNING_KEY, local_engine, served


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


def limited_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="limited",
        rate_limit=inngest.RateLimit(limit=1, period=datetime.timedelta(hours=1)),
        trigger=inngest.TriggerEvent(event="dash/limited"),
    )
    async def limited(ctx: inngest.Context) -> str:
        return "ok"

    return [limited]


def test_flow_control_shows_on_events_and_in_the_timeline() -> None:
    with local_engine() as host, served(host, "dash-flow", limited_functions) as ctx:
        kept, dropped = ctx.send_many("dash/limited", [{"n": 1}, {"n": 2}])
        run = ctx.wait_run(kept, "Completed")
        home = httpx.get(f"{host.url}/").text
        row = next(line for line in home.split("<tr>") if dropped in line)
        assert "dash-flow-limited: <span class='rate_limited'>rate_limited</span>" in row
        assert "rateLimit 1 per 3600s reached" in row  # the detail, as a tooltip
        assert run["run_id"] in httpx.get(f"{host.url}/").text


def test_signed_dashboard_needs_the_key_and_resyncs_only_its_app_urls() -> None:
    puts: list[str] = []
    attacker = FastAPI()

    @attacker.put("/collect")
    async def collect(request: Request) -> dict[str, bool]:
        puts.append(request.headers.get("x-inngest-signature", ""))
        return {"ok": True}

    with (
        local_engine(signing_key=TEST_SIGNING_KEY) as host,
        served(host, "dash-signed", make_functions, signing_key=TEST_SIGNING_KEY) as ctx,
        BackgroundServer(attacker, name="attacker") as evil,
    ):
        event_id = ctx.send("dash/shown")
        run = ctx.wait_run(event_id, "Completed")
        # No key: a login form, and nothing of the runs.
        for path in ("/", f"/runs/{run['run_id']}"):
            page = httpx.get(f"{host.url}{path}")
            assert page.status_code == 401 and "needs the signing key" in page.text
            assert event_id not in page.text and "escaped" not in page.text
        bearer = {"authorization": f"Bearer {TEST_SIGNING_KEY}"}
        assert event_id in httpx.get(f"{host.url}/", headers=bearer).text

        # Re-sync: no key, another origin, or a URL that is not a -u URL: no request leaves.
        target = {"url": f"{evil.url}/collect"}
        assert httpx.post(f"{host.url}/dashboard/sync", data=target).status_code == 401
        cross = bearer | {"origin": "http://evil.example"}
        assert httpx.post(f"{host.url}/dashboard/sync", data=target, headers=cross).status_code == 403
        refused = httpx.post(f"{host.url}/dashboard/sync", data=target, headers=bearer)
        assert refused.status_code == 400 and "is not one of this engine's app URLs" in refused.text
        assert puts == []
        assert httpx.post(f"{host.url}/dashboard/sync", headers=bearer).status_code == 303

        # The login form sets a cookie derived from the key (not the key), same origin only.
        with httpx.Client(base_url=host.url) as browser:
            origin = {"origin": host.url}
            wrong = browser.post("/dashboard/login", data={"key": "signkey-test-00"}, headers=origin)
            assert wrong.status_code == 401 and "That is not this engine" in wrong.text
            evil_login = {"origin": evil.url}
            assert (
                browser.post(
                    "/dashboard/login", data={"key": TEST_SIGNING_KEY}, headers=evil_login
                ).status_code
                == 403
            )
            login = browser.post("/dashboard/login", data={"key": TEST_SIGNING_KEY}, headers=origin)
            assert login.status_code == 303
            cookie = login.cookies["learninngest_engine_session"]
            assert TEST_SIGNING_KEY.removeprefix("signkey-test-") not in cookie
            assert "httponly" in login.headers["set-cookie"].lower()
            assert "samesite=strict" in login.headers["set-cookie"].lower()
            assert event_id in browser.get("/").text
            assert browser.post("/dashboard/sync", headers=origin).status_code == 303
            browser.post("/dashboard/logout", headers=origin)
            assert browser.get("/").status_code == 401
        assert httpx.get(f"{host.url}/", cookies={"learninngest_engine_session": "forged"}).status_code == 401


def test_dev_dashboard_stays_open() -> None:
    with local_engine() as host:
        assert httpx.get(f"{host.url}/").status_code == 200
        assert (
            httpx.post(f"{host.url}/dashboard/sync", headers={"origin": "http://elsewhere.test"}).status_code
            == 303
        )
