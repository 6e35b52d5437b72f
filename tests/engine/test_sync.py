"""App sync over HTTP: both key spellings, refusals with a reason, server kinds, -u at start-up."""

from __future__ import annotations

import datetime
from typing import Any

import httpx
import inngest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from learninngest.kit.servers import BackgroundServer, free_port
from tests.engine.harness import TEST_SIGNING_KEY, Host, local_engine, served
from tests.support import wait_for

URL = "http://127.0.0.1:9/api/inngest"


def register_body(**extra: Any) -> dict[str, Any]:
    fn = {
        "id": "raw-app-fn",
        "name": "fn",
        "steps": {
            "step": {
                "id": "step",
                "name": "step",
                "runtime": {"type": "http", "url": URL + "?fnId=raw-app-fn"},
            }
        },
        "triggers": [{"event": "raw/thing"}],
    }
    return {"url": URL, "v": "0.1", "sdk": "py:v0.5.19", "framework": "fast_api", "functions": [fn]} | extra


def test_register_accepts_both_key_spellings() -> None:
    with local_engine() as host:
        first = httpx.post(
            f"{host.url}/fn/register", json=register_body(appname="raw-app", deploy_type="ping")
        )
        assert first.status_code == 200 and first.json()["ok"] and first.json()["modified"] is True
        same = httpx.post(f"{host.url}/fn/register", json=register_body(appName="raw-app", deployType="ping"))
        assert same.json()["modified"] is False and same.json()["app_id"] == first.json()["app_id"]
        assert httpx.post(f"{host.url}/fn/register", json={"url": URL}).status_code == 400


def test_server_kind_mismatch_is_refused() -> None:
    with local_engine() as host:
        resp = httpx.post(
            f"{host.url}/fn/register",
            json=register_body(appname="raw-app"),
            headers={"x-inngest-expected-server-kind": "cloud"},
        )
        assert resp.status_code == 400 and "server kind mismatch" in resp.json()["error"]


def unsupported(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="batched",
        batch_events=inngest.Batch(max_size=10, timeout=5000),
        debounce=inngest.Debounce(period=datetime.timedelta(seconds=10)),  # the real server refuses both
        trigger=inngest.TriggerEvent(event="sync/batched"),
    )
    async def batched(ctx: inngest.Context) -> None:
        return None

    return [batched]


def test_unsupported_config_is_refused_at_sync_with_a_reason() -> None:
    with local_engine() as host, served(host, "sync-app", unsupported, do_sync=False) as ctx:
        body = httpx.put(ctx.app_url).json()  # the SDK answers 200 with the engine's error body
        assert "cannot use batchEvents and debounce together" in body["error"]
        assert "sync-app-batched" in body["error"]
        result = httpx.post(f"{host.url}/v1/apps/sync", json={"url": ctx.app_url}).json()["data"][0]
        assert result["ok"] is False and "batchEvents" in result["error"]
        assert httpx.get(f"{host.url}/v1/apps").json()["data"]["apps"] == []


def plain(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="plain", trigger=inngest.TriggerEvent(event="sync/plain"))
    async def plain_fn(ctx: inngest.Context) -> str:
        return "ok"

    return [plain_fn]


def test_app_urls_are_synced_at_start_up() -> None:
    # Serve the app first, pointed at the engine's future port, then start the engine with -u.
    with local_engine() as probe:
        port = int(probe.url.rsplit(":", 1)[1])
    placeholder = Host("engine", f"http://127.0.0.1:{port}")
    with (
        served(placeholder, "startup-app", plain, do_sync=False) as ctx,
        local_engine(port=port, app_urls=[ctx.app_url]) as host,
    ):
        apps = wait_for(lambda: _apps(host.url), timeout=10)
        assert apps[0]["app_id"] == "startup-app"
        assert ctx.wait_run(ctx.send("sync/plain"), "Completed")["output"] == "ok"


def _apps(url: str) -> list[dict[str, Any]]:
    apps = httpx.get(f"{url}/v1/apps").json()["data"]["apps"]
    assert apps
    return list(apps)


def test_signed_engine_wants_a_bearer_and_a_signed_app() -> None:
    with (
        local_engine(signing_key=TEST_SIGNING_KEY) as host,
        served(host, "signed-app", plain, signing_key=TEST_SIGNING_KEY),
    ):
        assert httpx.get(f"{host.url}/v1/apps").status_code == 401
        assert "x-inngest-server-kind" not in httpx.get(f"{host.url}/health").headers
        with host.rest() as rest:
            assert rest.get("/v1/apps").json()["data"]["apps"][0]["app_id"] == "signed-app"


def test_calls_signed_with_another_key_are_rejected_by_the_app() -> None:
    other = "signkey-test-" + "cd34" * 16
    with local_engine(signing_key=TEST_SIGNING_KEY, signing_key_fallback=other) as host:
        # The app only knows `other`; the engine signs calls with its primary key -> 401.
        def failing(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
            @client.create_function(fn_id="f", retries=0, trigger=inngest.TriggerEvent(event="sync/signed"))
            async def f(ctx: inngest.Context) -> str:
                return "should not run"

            return [f]

        with served(host, "wrong-key-app", failing, signing_key=other) as ctx:
            run = ctx.wait_run(ctx.send("sync/signed"), "Failed")
            assert "401" in run["output"]["message"]


def test_start_up_sync_tries_again_when_the_app_answers_500() -> None:
    # What the SDK answers when its /fn/register call found no engine listening yet (a race at
    # start-up): a 500. The fake app below answers so once, then registers like the SDK.
    puts: list[int] = []
    app = FastAPI()

    @app.put("/api/inngest")
    async def put() -> JSONResponse:
        puts.append(1)
        if len(puts) == 1:
            return JSONResponse({"code": "unknown", "message": "Failed request to /fn/register"}, 500)
        async with httpx.AsyncClient() as client:
            resp = await client.post(f"{engine_url}/fn/register", json=register_body(appname="late-app"))
        return JSONResponse(resp.json(), resp.status_code)

    with BackgroundServer(app, name="late-app") as server:
        port = free_port()
        engine_url = f"http://127.0.0.1:{port}"
        with local_engine(port=port, app_urls=[f"{server.url}/api/inngest"]) as host:
            apps = wait_for(lambda: _apps(host.url), timeout=10)
            assert [a["app_id"] for a in apps] == ["late-app"]
            assert len(puts) == 2


OTHER = "http://attacker.example/api/inngest"


def _register(host: Host, url: str, **params: str) -> httpx.Response:
    body = register_body(appname="raw-app", url=url)
    with host.rest() as rest:
        return rest.post("/fn/register", json=body, params=params)


def _app_urls(host: Host) -> list[str]:
    with host.rest() as rest:
        return [a["url"] for a in rest.get("/v1/apps").json()["data"]["apps"]]


def test_a_forged_host_sync_cannot_move_an_app_synced_with_u() -> None:
    # The real SDK in dev mode syncs on any unauthenticated PUT and registers the URL its Host
    # header names: the engine, which was told where the app lives (-u), refuses the move.
    with local_engine() as probe:
        port = int(probe.url.rsplit(":", 1)[1])
    placeholder = Host("engine", f"http://127.0.0.1:{port}")
    with (
        served(placeholder, "moved-app", plain, do_sync=False) as ctx,
        local_engine(port=port, app_urls=[ctx.app_url]) as host,
    ):
        wait_for(lambda: _apps(host.url), timeout=10)
        forged = httpx.put(ctx.app_url, headers={"host": "attacker.example"}, timeout=10).json()
        assert forged["error"] == (
            f"sync refused: app moved-app is registered at {ctx.app_url}; a sync may not move it to "
            f"{OTHER}, which is not one of this engine's app URLs (-u: {ctx.app_url}). "
            f"If the app really moved, start the engine with -u {OTHER}."
        )
        assert _app_urls(host) == [ctx.app_url]
        assert ctx.wait_run(ctx.send("sync/plain"), "Completed")["output"] == "ok"


def test_a_signed_engine_refuses_moves_without_u_and_a_dev_engine_allows_them() -> None:
    with local_engine(signing_key=TEST_SIGNING_KEY) as host:
        assert _register(host, URL).status_code == 200
        moved = _register(host, OTHER)
        assert (
            moved.status_code == 409
            and "which is not one of this engine's app URLs (-u: none)" in (moved.json()["error"])
        )
        assert _app_urls(host) == [URL]
    with local_engine() as host:  # like the real Dev Server: no -u, no key, any sync goes
        assert _register(host, URL).status_code == 200
        assert _register(host, OTHER).status_code == 200
        assert _app_urls(host) == [OTHER]


def test_a_move_to_a_u_url_or_through_the_engines_own_sync_is_accepted() -> None:
    # The app at the -u URL registers another URL (its INNGEST_SERVE_ORIGIN): the engine
    # started that sync (its deployId token comes back), so the move is accepted.
    public = "https://app.example/api/inngest"
    app = FastAPI()

    @app.put("/api/inngest")
    async def put(deployId: str | None = None) -> JSONResponse:  # noqa: N803 - the SDK's name
        async with httpx.AsyncClient() as client:
            resp = await client.post(
                f"{engine_url}/fn/register",
                json=register_body(appname="raw-app", url=public),
                params={"deployId": deployId} if deployId else {},
            )
        return JSONResponse(resp.json(), resp.status_code)

    with BackgroundServer(app, name="served-elsewhere") as server:
        port = free_port()
        engine_url = f"http://127.0.0.1:{port}"
        configured = f"{server.url}/api/inngest"
        with local_engine(port=port, app_urls=[configured]) as host:
            wait_for(lambda: _apps(host.url), timeout=10)
            assert _register(host, URL).status_code == 409  # not the engine's sync, not a -u URL
            assert _register(host, URL, deployId="guessed").status_code == 409
            assert _register(host, configured).status_code == 200  # a -u URL
            assert _app_urls(host) == [configured]
            with host.rest() as rest:
                assert rest.post("/v1/apps/sync").json()["data"][0]["ok"] is True
            assert _app_urls(host) == [public]
