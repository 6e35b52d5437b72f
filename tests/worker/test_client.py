"""The Inngest client's async HTTP client is rebound to the thread whose loop serves the app."""

from __future__ import annotations

import asyncio
import threading

from inngest._internal import net

from learninngest.config import Settings
from learninngest.worker.client import bind_to_serving_loop, build_inngest_client


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
