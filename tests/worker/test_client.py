"""The Inngest client's async HTTP client is rebound to the thread whose loop serves the app,
and the SDK's blocking client (sends from other threads) is left with no connection when the
app stops."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import inngest
from fastapi import FastAPI
from inngest._internal import net

from learninngest.app import create_app
from learninngest.config import Settings, get_settings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.serving.limits import ServerLimits
from learninngest.worker.client import bind_to_serving_loop, build_inngest_client, release_blocking_client
from tests.support import established_tcp


def _sdk_http(client: object) -> net.ThreadAwareAsyncHTTPClient:
    return client._http_client._http_client  # type: ignore[attr-defined]


def test_a_client_built_in_another_thread_gets_an_http_client_of_the_serving_thread() -> None:
    client = build_inngest_client(Settings(inngest_dev="1"))
    built_here = _sdk_http(client)
    seen: dict[str, object] = {}

    def serve() -> None:
        async def lifespan() -> None:
            new = bind_to_serving_loop(client)
            seen["new"] = new
            seen["same_thread"] = _sdk_http(client).is_same_thread()
            assert new is not None
            await new.aclose()

        asyncio.run(lifespan())

    thread = threading.Thread(target=serve)
    thread.start()
    thread.join(30)
    assert seen["same_thread"] is True
    assert seen["new"] is not built_here and _sdk_http(client) is seen["new"]


def test_a_client_built_in_the_serving_thread_is_kept() -> None:
    client = build_inngest_client(Settings(inngest_dev="1"))
    before = _sdk_http(client)

    async def lifespan() -> object:
        return bind_to_serving_loop(client)

    assert asyncio.run(lifespan()) is None
    assert _sdk_http(client) is before


def test_a_send_from_another_thread_leaves_no_connection_open_once_the_app_stops(tmp_path: Path) -> None:
    # A real event API on loopback: what the SDK's blocking client talks to.
    events = FastAPI()
    received: list[object] = []

    @events.post("/e/{key}")
    async def accept(payload: list[dict[str, object]] | dict[str, object]) -> dict[str, object]:
        received.append(payload)
        return {"ids": ["01"], "status": 200}

    # Kept connections stay kept (uvicorn would close them after 5 s idle): the count below must
    # not depend on how soon it is read.
    keep = ServerLimits(timeout_keep_alive_s=3600)
    with BackgroundServer(events, name="event-api", port=free_port(), limits=keep) as event_api:
        settings = get_settings(
            port=free_port(),
            inngest_base_url=event_api.url,
            result_store_url=f"sqlite:///{tmp_path / 'results.db'}",
            reconcile_interval_s=0,
        )
        app = create_app(settings)
        client: inngest.Inngest = app.state.inngest
        try:
            with BackgroundServer(app, name="backend", port=settings.port):
                # The serving thread owns the async client now: this thread's send takes the
                # SDK's blocking client, which keeps its connection for the next send.
                ids = asyncio.run(client.send(inngest.Event(name="test/other-thread")))
                assert ids == ["01"] and len(received) == 1
                print(
                    "connections to the event API while the app runs:",
                    established_tcp(remote_port=event_api.port),
                )
                assert established_tcp(remote_port=event_api.port) == 1
            # The app stopped: its lifespan closed that connection (not the garbage collector).
            held = established_tcp(remote_port=event_api.port)
            print("after it stopped:", held)
            assert held == 0
            # The client still sends (on a new connection), e.g. from a notebook cell.
            assert asyncio.run(client.send(inngest.Event(name="test/after"))) == ["01"]
            assert len(received) == 2
        finally:
            release_blocking_client(client)  # this test's own sends: closed here, also on failure
