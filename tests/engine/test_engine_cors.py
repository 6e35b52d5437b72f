"""A page may send events to the engine from a browser: CORS on the event API, as the server's."""

from __future__ import annotations

from typing import Any

import httpx

from tests.engine.harness import local_engine

PAGE = "https://page.example"


def test_a_browser_preflight_to_the_event_api_is_allowed_for_any_origin() -> None:
    with local_engine() as host:
        resp = httpx.options(
            f"{host.url}/e/some-key",
            headers={
                "Origin": PAGE,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, x-inngest-sdk",
            },
        )
    print(resp.status_code, dict(resp.headers))
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == PAGE  # reflected, not "*"
    assert "POST" in resp.headers["access-control-allow-methods"]
    assert "x-inngest-sdk" in resp.headers["access-control-allow-headers"].lower()
    assert resp.headers["access-control-max-age"] == "3600"
    assert "access-control-allow-credentials" not in resp.headers


def test_a_send_from_a_page_is_ingested_and_readable_by_it() -> None:
    with local_engine() as host:
        event = {"name": "page/clicked", "data": {"n": 1}}
        sent = httpx.post(f"{host.url}/e/some-key", json=event, headers={"Origin": PAGE})
        print(sent.status_code, sent.json(), dict(sent.headers))
        assert sent.status_code == 200
        assert sent.headers["access-control-allow-origin"] == PAGE
        (event_id,) = sent.json()["ids"]
        stored = httpx.get(f"{host.url}/v1/events/{event_id}").json()["data"]
        assert stored["name"] == "page/clicked"


def test_a_server_side_send_gets_no_cors_headers() -> None:
    with local_engine() as host:
        sent = httpx.post(f"{host.url}/e/some-key", json={"name": "app/x", "data": {}})
        assert sent.status_code == 200
        assert not any(name.startswith("access-control-") for name in sent.headers)


def test_the_runs_api_is_not_opened_to_other_origins() -> None:
    """Run data (GraphQL, REST) stays same-origin: a page elsewhere cannot read it."""
    with local_engine() as host:
        query = {"query": "{ functions { name } }"}
        gql = httpx.post(f"{host.url}/v0/gql", json=query, headers={"Origin": PAGE})
        runs = httpx.get(f"{host.url}/v1/events", headers={"Origin": PAGE})
        preflight = httpx.options(
            f"{host.url}/v0/gql", headers={"Origin": PAGE, "Access-Control-Request-Method": "POST"}
        )
    print(gql.status_code, runs.status_code, preflight.status_code)
    for resp in (gql, runs, preflight):
        assert "access-control-allow-origin" not in resp.headers


def test_a_page_of_another_origin_sends_an_event_from_a_real_browser(browser: Any) -> None:
    """Chromium's own CORS checks: the page's fetch (JSON, so preflighted) reaches the event
    API and reads its answer; the same page cannot read the engine's GraphQL."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from learninngest.kit.servers import BackgroundServer

    async def page(_: object) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>elsewhere</title><p>a page on another origin</p>")

    script = """
    const [engine, done] = [arguments[0], arguments[arguments.length - 1]];
    const out = {};
    fetch(engine + "/e/page-key", {method: "POST", headers: {"Content-Type": "application/json"},
                                   body: JSON.stringify({name: "page/clicked", data: {n: 2}})})
      .then(r => r.json().then(body => { out.send = {status: r.status, body}; }))
      .catch(e => { out.send = {error: String(e)}; })
      .then(() => fetch(engine + "/v0/gql", {method: "POST", headers: {"Content-Type": "application/json"},
                                              body: JSON.stringify({query: "{ functions { name } }"})}))
      .then(r => { out.gql = {status: r.status}; }, e => { out.gql = {error: String(e)}; })
      .then(() => done(out));
    """
    with local_engine() as host, BackgroundServer(Starlette(routes=[Route("/", page)]), name="page") as other:
        browser.get(other.url + "/")
        browser.set_script_timeout(20)
        out = browser.execute_async_script(script, host.url)
        print("the page's fetches:", out)
        assert out["send"]["status"] == 200, out
        (event_id,) = out["send"]["body"]["ids"]
        assert httpx.get(f"{host.url}/v1/events/{event_id}").json()["data"]["data"] == {"n": 2}
        assert "error" in out["gql"], out  # refused by the browser: no CORS on run data
