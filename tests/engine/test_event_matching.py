"""Events that start nothing are flagged (is the app synced?), the engine's own ones are not;
the engine's finish events carry `data._inngest.status` like the real server's."""

from __future__ import annotations

from typing import Any

import httpx
import inngest

from tests.engine.harness import EngineLog, local_engine, served
from tests.support import wait_for


def make_functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="hello", trigger=inngest.TriggerEvent(event="match/hello"))
    async def hello(ctx: inngest.Context) -> str:
        return "hello"

    @client.create_function(
        fn_id="picky",
        trigger=inngest.TriggerEvent(event="match/picky", expression="event.data.ok == true"),
    )
    async def picky(ctx: inngest.Context) -> str:
        return "picky"

    @client.create_function(fn_id="broken", retries=0, trigger=inngest.TriggerEvent(event="match/broken"))
    async def broken(ctx: inngest.Context) -> None:
        raise ValueError("broken on purpose")

    return [hello, picky, broken]


def _warnings(log: EngineLog) -> list[str]:
    return [line for line in log.lines if "matched no function" in line]


def test_an_event_nobody_listens_to_logs_a_warning(engine_log: EngineLog) -> None:
    with local_engine() as host:
        resp = httpx.post(f"{host.url}/e/key", json={"name": "match/nobody", "data": {}})
        event_id = resp.json()["ids"][0]
    assert _warnings(engine_log) == [
        f"WARNING event matched no function name=match/nobody event_id={event_id}: is the app synced? "
        "(learninngest engine -u URL, or POST /v1/apps/sync)"
    ]


def test_matched_and_internal_events_log_no_warning(engine_log: EngineLog) -> None:
    with local_engine() as host, served(host, "match", make_functions) as ctx:
        ctx.wait_run(ctx.send("match/hello"), "Completed")
        ctx.wait_run(ctx.send("match/broken"), "Failed")
        ctx.send("match/picky", {"ok": False})  # a trigger names it; its expression is false
        nobody = ctx.send("match/nobody")
        wait_for(lambda: _warnings(engine_log)[0])
    # inngest/function.finished / .failed have no listener here, and are not flagged.
    assert [line.split(":")[0] for line in _warnings(engine_log)] == [
        f"WARNING event matched no function name=match/nobody event_id={nobody}"
    ]


def _internal_events(ctx: Any, name: str) -> list[dict[str, Any]]:
    with ctx.host.rest() as rest:
        resp = rest.get("/v1/events", params={"name": name, "limit": 50})
        resp.raise_for_status()
        return list(resp.json()["data"])


def test_finish_events_carry_the_run_status() -> None:
    with local_engine() as host, served(host, "match", make_functions) as ctx:
        ok = ctx.wait_run(ctx.send("match/hello"), "Completed")
        bad = ctx.wait_run(ctx.send("match/broken"), "Failed")

        def finished() -> dict[str, str]:
            found = {
                e["data"]["run_id"]: e["data"]["_inngest"]["status"]
                for e in _internal_events(ctx, "inngest/function.finished")
            }
            assert {ok["run_id"], bad["run_id"]} <= set(found), found
            return found

        statuses = wait_for(finished)
        assert statuses[ok["run_id"]] == "Completed"
        assert statuses[bad["run_id"]] == "Failed"
        failed = [e["data"] for e in _internal_events(ctx, "inngest/function.failed")]
        assert [(d["run_id"], d["_inngest"]) for d in failed] == [(bad["run_id"], {"status": "Failed"})]
