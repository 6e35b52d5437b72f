"""The HTML dashboard: apps, events, runs, a run's timeline, the re-sync button; the key in signed mode."""

from __future__ import annotations

import datetime
from typing import Any

import httpx
import inngest
from fastapi import FastAPI, Request

from learninngest.kit.servers import BackgroundServer
from tests.engine.harness import TEST_SIGNING_KEY, local_engine, served
from tests.support import wait_for


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
        assert resync.status_code == 303 and resync.headers["location"] == "../"
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


def make_failing(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    async def handle(ctx: inngest.Context) -> str:
        return "handled"

    @client.create_function(
        fn_id="breaks", trigger=inngest.TriggerEvent(event="dash/breaks"), retries=0, on_failure=handle
    )
    async def breaks(ctx: inngest.Context) -> str:
        async def fail() -> str:
            raise inngest.NonRetriableError("the model said no\nsecond line")

        return await ctx.step.run("fail", fail)

    return [breaks]


def test_runs_come_first_newest_on_top_with_their_request_id() -> None:
    with local_engine() as host, served(host, "dash-order", make_functions) as ctx:
        first = ctx.wait_run(ctx.send("dash/shown", {"request_id": "req-first"}), "Completed")
        second = ctx.wait_run(ctx.send("dash/shown", {"request_id": "req-second"}), "Completed")
        home = httpx.get(f"{host.url}/").text
        assert (
            home.index("<h2>Runs</h2>") < home.index("<h2>Recent events</h2>") < home.index("<h2>Apps</h2>")
        )
        assert home.index(second["run_id"]) < home.index(first["run_id"])
        assert "req-first" in home and "req-second" in home
        # An event links to the run it started.
        events = home.split("<h2>Recent events</h2>", 1)[1]
        assert f"<a href='runs/{first['run_id']}'>" in events


def test_a_failed_run_links_to_its_handler_and_shows_its_error_readably() -> None:
    with local_engine() as host, served(host, "dash-fail", make_failing) as ctx:
        event_id = ctx.send("dash/breaks", {"request_id": "req-broken"})
        failed = ctx.wait_run(event_id, "Failed")

        def handler_run() -> str:
            page = httpx.get(f"{host.url}/runs/{failed['run_id']}").text
            assert "its failure handler: run" in page
            return page

        page = wait_for(handler_run, timeout=15)
        assert "request <code>req-broken</code>" in page
        # The message with its real line break, not one escaped JSON string.
        assert "the model said no\nsecond line" in page
        error = page.split("<h2>Error</h2>", 1)[1].split("<h2>Timeline</h2>", 1)[0]
        assert "&quot;stack&quot;" not in error and "<summary>stack trace</summary>" in error
        assert "NonRetriableError: the model said no\nsecond line" in error  # the stack, line by line
        handler_id = page.split("its failure handler: run <a href='runs/", 1)[1].split("'", 1)[0]
        handler = httpx.get(f"{host.url}/runs/{handler_id}").text
        assert f"handles the end of run <a href='runs/{failed['run_id']}'>" in handler
        assert "request <code>req-broken</code>" in handler
        home = httpx.get(f"{host.url}/").text
        assert f"→ handler <a href='runs/{handler_id}'>" in home


def make_sleeper(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="naps", trigger=inngest.TriggerEvent(event="dash/naps"))
    async def naps(ctx: inngest.Context) -> None:
        await ctx.step.sleep("nap", datetime.timedelta(hours=1))

    return [naps]


def test_a_run_page_refreshes_only_while_the_run_is_active() -> None:
    with local_engine() as host, served(host, "dash-refresh", make_functions) as ctx:
        run = ctx.wait_run(ctx.send("dash/shown"), "Completed")
        page = httpx.get(f"{host.url}/runs/{run['run_id']}").text
        assert 'http-equiv="refresh"' not in page
    with local_engine() as host, served(host, "dash-naps", make_sleeper) as ctx:
        sleeping = ctx.wait_run(ctx.send("dash/naps"), "Running")  # active (asleep or about to be)
        assert 'http-equiv="refresh"' in httpx.get(f"{host.url}/runs/{sleeping['run_id']}").text
        assert "rel='icon'" in page  # no /favicon.ico request, so no 404 in the console
