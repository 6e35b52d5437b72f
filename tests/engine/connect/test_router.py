"""The router's side of a call, with no socket: a reply flushed while it routes is taken."""

from __future__ import annotations

import asyncio
import json

from learninngest.engine.clock import Clock
from learninngest.engine.connect.codec import SDKResponse
from learninngest.engine.connect.router import ConnectRouter
from learninngest.engine.ids import UlidFactory
from learninngest.engine.settings import EngineSettings
from learninngest.engine.state.db import State
from learninngest.engine.sync.registry import Registry
from learninngest.engine.wire import protocol

APP = "flushed"
URL = f"ws://connect?app_name={APP}"


def registry_with_a_connect_app(settings: EngineSettings, state: State) -> Registry:
    registry = Registry(settings, state, Clock())
    fn = {
        "id": f"{APP}-fn",
        "name": "fn",
        "triggers": [{"event": "test/flushed"}],
        "steps": {
            "step": {"id": "step", "name": "step", "runtime": {"type": "ws", "url": f"{URL}&fnId={APP}-fn"}}
        },
    }
    body = {
        "appname": APP,
        "url": URL,
        "functions": [fn],
        "framework": "connect",
        "sdk": "py:0.5.19",
        "v": "0.1",
    }
    status, reply = registry.register(body, None)
    assert status == 200, reply
    return registry


def test_a_reply_flushed_while_the_call_looks_for_another_worker_is_taken() -> None:
    # The worker that had the call was cut off before its ack came through: the router looks
    # for another worker (here: none for a minute) while the first flushes its reply.
    settings = EngineSettings(db_path=None, connect_wait_s=60.0)
    state = State(None)
    state.open()
    try:
        router = ConnectRouter(settings, registry_with_a_connect_app(settings, state), UlidFactory())

        async def scenario() -> protocol.Outcome:
            call = asyncio.create_task(router.call(f"{URL}&fnId={APP}-fn&stepId=step", b'{"ctx": {}}'))
            await asyncio.sleep(0)  # the call registers its request at once, then routes it
            (request_id,) = router._pending
            assert router.deliver(
                SDKResponse(request_id=request_id, status=1, body=json.dumps("done").encode())
            )
            return await asyncio.wait_for(call, 10)  # not the minute of connect_wait_s

        assert asyncio.run(scenario()) == protocol.Completed("done")
        assert not router._pending
    finally:
        state.close()
