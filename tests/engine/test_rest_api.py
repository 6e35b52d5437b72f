"""REST v1 over HTTP: the real Dev Server's shapes, plus the engine's own endpoints."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import httpx
import inngest
import pytest

from tests.engine.harness import TEST_SIGNING_KEY, CaseContext, local_engine, served

RUN_FIELDS = {
    "run_id", "run_started_at", "function_id", "function_version", "environment_id", "event_id",
    "status", "ended_at", "output", "function_slug",
}  # fmt: skip


def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="quick", trigger=inngest.TriggerEvent(event="rest/quick"))
    async def quick(ctx: inngest.Context) -> dict[str, Any]:
        return {"echo": ctx.event.data}

    @client.create_function(fn_id="slow", trigger=inngest.TriggerEvent(event="rest/slow"))
    async def slow(ctx: inngest.Context) -> str:
        await ctx.step.sleep("long", datetime.timedelta(days=1))
        return "never"

    return [quick, slow]


@pytest.fixture
def ctx() -> Iterator[CaseContext]:
    with local_engine() as host, served(host, "rest-app", make_functions) as context:
        yield context


def get(ctx: CaseContext, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{ctx.host.url}{path}", params=params)


def test_run_shape_and_event_runs(ctx: CaseContext) -> None:
    event_id = ctx.send("rest/quick", {"n": 1})
    run = ctx.wait_run(event_id, "Completed")
    assert set(run) == RUN_FIELDS
    assert run["event_id"] == event_id and run["output"] == {"echo": {"n": 1}}
    assert run["function_slug"] == "rest-app-quick" and len(run["function_id"]) == 36
    body = get(ctx, f"/v1/runs/{run['run_id']}").json()
    assert body["data"] == run and "fetched_at" in body["metadata"]


def test_events_newest_first_with_filters_and_cursor(ctx: CaseContext) -> None:
    ids = [ctx.send("rest/quick", {"i": i}) for i in range(3)]
    other = ctx.send("rest/other")
    data = get(ctx, "/v1/events", name="rest/quick").json()["data"]
    assert [e["internal_id"] for e in data[:3]] == ids[::-1]
    assert get(ctx, "/v1/events", limit=1, name="rest/other").json()["data"][0]["internal_id"] == other
    page = get(ctx, "/v1/events", name="rest/quick", cursor=ids[2]).json()["data"]
    assert [e["internal_id"] for e in page] == ids[1::-1]
    assert get(ctx, "/v1/events", received_after="2999-01-01T00:00:00Z").json()["data"] == []
    one = get(ctx, f"/v1/events/{ids[0]}").json()["data"]
    assert one["id"] == ids[0] and one["name"] == "rest/quick" and one["data"] == {"i": 0}
    assert {"internal_id", "account_id", "environment_id", "source", "received_at", "ts"} <= set(one)


def test_errors_have_the_dev_server_shape(ctx: CaseContext) -> None:
    bad = get(ctx, "/v1/runs/not-a-ulid")
    assert bad.status_code == 400 and bad.json()["status"] == 400 and bad.json()["data"] is None
    missing = get(ctx, "/v1/runs/01HZZZZZZZZZZZZZZZZZZZZZZZ")
    assert missing.status_code == 404 and "not found" in missing.json()["error"]
    assert get(ctx, "/v1/events/nope").status_code == 400
    assert get(ctx, "/v1/events/01HZZZZZZZZZZZZZZZZZZZZZZZ").status_code == 404
    assert get(ctx, "/v1/events/01HZZZZZZZZZZZZZZZZZZZZZZZ/runs").json()["data"] == []
    assert httpx.delete(f"{ctx.host.url}/v1/runs/01HZZZZZZZZZZZZZZZZZZZZZZZ").status_code == 404


def test_cancel_a_run_via_rest(ctx: CaseContext) -> None:
    event_id = ctx.send("rest/slow")
    run = ctx.wait_run(event_id, "Running")
    ctx.wait_step(run["run_id"], "long", "Sleeping")
    resp = httpx.delete(f"{ctx.host.url}/v1/runs/{run['run_id']}")
    assert resp.status_code == 200
    cancelled = ctx.wait_run(event_id, "Cancelled")
    assert cancelled["ended_at"] is not None
    again = httpx.delete(f"{ctx.host.url}/v1/runs/{run['run_id']}")
    assert again.status_code == 400 and "already ended" in again.json()["error"]


def test_step_timeline_and_health_and_apps(ctx: CaseContext) -> None:
    run = ctx.wait_run(ctx.send("rest/slow"), "Running")
    row = ctx.wait_step(run["run_id"], "long", "Sleeping")
    assert row["op"] == "Sleep" and row["intended_delay_ms"] >= 86_000_000 and row["ended_at"] is None
    health = get(ctx, "/health")
    assert health.status_code == 200 and health.headers["x-inngest-server-kind"] == "dev"
    apps = get(ctx, "/v1/apps").json()["data"]["apps"]
    assert [f["slug"] for f in apps[0]["functions"]] == ["rest-app-quick", "rest-app-slow"]
    synced = httpx.post(f"{ctx.host.url}/v1/apps/sync", json={"url": ctx.app_url}).json()["data"]
    assert synced[0]["ok"] is True and synced[0]["modified"] is False


def test_event_api_answers(ctx: CaseContext) -> None:
    url = f"{ctx.host.url}/e/any-key"
    ok = httpx.post(url, json={"name": "rest/one", "data": {}})
    assert ok.status_code == 200 and ok.json()["status"] == 200 and len(ok.json()["ids"]) == 1
    resp = httpx.post(url, json={"name": "inngest/function.failed"})
    # The Dev Server's shape when the first event is refused: one empty id, not an empty list.
    assert resp.status_code == 400 and resp.json()["error"] and resp.json()["ids"] == [""]
    # Like the Dev Server: the events before the bad one are stored, their ids come back.
    resp = httpx.post(url, json=[{"name": "a"}, {"data": {}}, {"name": "b"}])
    assert resp.status_code == 400 and "event 1" in resp.json()["error"]
    (kept,) = resp.json()["ids"]
    assert [e["internal_id"] for e in get(ctx, "/v1/events", name="a").json()["data"]] == [kept]
    assert get(ctx, "/v1/events", name="b").json()["data"] == []
    bad_json = httpx.post(url, content=b"{oops")
    assert bad_json.status_code == 400 and bad_json.json()["ids"] == [""]


def test_event_key_is_checked_when_configured() -> None:
    with local_engine(event_key="secret-key") as host:
        assert httpx.post(f"{host.url}/e/wrong", json={"name": "a"}).status_code == 401
        assert httpx.post(f"{host.url}/e/secret-key", json={"name": "a"}).status_code == 200


RUN = "01J0000000000000000000000A"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/events"),
        ("GET", f"/v1/events/{RUN}"),
        ("GET", f"/v1/events/{RUN}/runs"),
        ("GET", f"/v1/runs/{RUN}"),
        ("DELETE", f"/v1/runs/{RUN}"),
        ("GET", f"/v1/runs/{RUN}/steps"),
        ("GET", "/v1/apps"),
        ("POST", "/v1/apps/sync"),
        ("GET", f"/v0/runs/{RUN}/batch"),
        ("GET", f"/v0/runs/{RUN}/actions"),
        ("POST", "/fn/register"),
    ],
)
def test_signed_mode_wants_the_bearer_everywhere(method: str, path: str) -> None:
    # As Inngest Cloud: the signing key (raw or the SDK's hash) as bearer, else 401.
    with local_engine(signing_key=TEST_SIGNING_KEY) as host:
        assert httpx.request(method, f"{host.url}{path}").status_code == 401
        wrong = {"authorization": "Bearer signkey-test-" + "cd34" * 16}
        assert httpx.request(method, f"{host.url}{path}", headers=wrong).status_code == 401
        right = {"authorization": f"Bearer {TEST_SIGNING_KEY}"}
        assert httpx.request(method, f"{host.url}{path}", headers=right).status_code != 401
