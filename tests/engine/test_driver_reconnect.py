"""The HTTP driver makes a call again once only when a *kept* connection closed unanswered
(the app's keep-alive timer; tests/engine/cases/keepalive_race.py): a new connection that the
app closes without an answer may have run the step, so that call fails as any failure does."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator

from learninngest.engine.settings import EngineSettings
from learninngest.engine.wire import protocol
from learninngest.engine.wire.client_pool import ClientPool
from learninngest.engine.wire.driver import HttpDriver


@contextlib.contextmanager
def hanging_up() -> Iterator[tuple[str, list[bytes]]]:
    """A server that reads each request and closes the connection without a byte of answer."""
    requests: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(65536)
                if data:
                    requests.append(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/inngest", requests
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
        thread.join(5)


def test_a_new_connection_closed_unanswered_is_a_failed_call_not_retried_at_once() -> None:
    async def call(url: str) -> protocol.Outcome:
        pool = ClientPool(call_timeout_s=10)
        try:
            return await HttpDriver(EngineSettings(), pool).call(url, b"{}")
        finally:
            await pool.aclose()

    with hanging_up() as (url, requests):
        outcome = asyncio.run(call(url))
    assert isinstance(outcome, protocol.CallFailed)
    # plain http:// goes through serving/plain_http.py (ReadError), https:// through httpx.
    assert outcome.error["name"] == "ReadError", outcome.error
    assert "could not reach" in outcome.error["message"]
    assert len(requests) == 1  # sent once: the app may have run it
