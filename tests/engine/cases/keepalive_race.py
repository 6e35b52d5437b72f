"""A call sent on a kept-alive connection just as the app's keep-alive timer closes it is made
again once, on a new connection: the run does not fail, even with `retries=0`, and no step
runs twice (seen on inngest-py's `singleton_*` cases, whose functions have no retries).

The app is reached here through a real TCP server in front of it that plays the app's
keep-alive timer firing at the worst moment: a connection that has answered once is closed,
unanswered, when the next request arrives on it. A new connection is always served. (The
Dev Server opens a new connection for every call, so it never meets the race.)
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import inngest

from tests.engine.harness import CaseContext, sync

APP_ID = "case-keepalive-race"


@contextlib.contextmanager
def closing_when_reused(upstream: str) -> Iterator[tuple[str, dict[str, int]]]:
    """A TCP server forwarding to `upstream` (host:port) on a free port; yields its host:port
    and counts (`connections`, `closed`: kept connections closed as a request arrived)."""
    host, port = upstream.split(":")
    counts = {"connections": 0, "closed": 0}

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            counts["connections"] += 1
            client: socket.socket = self.request
            app = socket.create_connection((host, int(port)))
            answered = threading.Event()

            def back() -> None:
                with contextlib.suppress(OSError):
                    while data := app.recv(65536):
                        answered.set()
                        client.sendall(data)

            thread = threading.Thread(target=back, daemon=True)
            thread.start()
            try:
                while data := client.recv(65536):
                    if answered.is_set():
                        # A request on a connection that has answered before: the keep-alive
                        # timer fires now. Close without a byte of answer, as the app's server would.
                        counts["closed"] += 1
                        break
                    app.sendall(data)
            except OSError:
                pass
            finally:
                for sock in (client, app):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
                thread.join(5)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        block_on_close = False

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", counts
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def functions(client: inngest.Inngest, box: dict[str, Any]) -> list[inngest.Function[Any]]:
    box["ran"] = []

    def step(name: str) -> str:
        box["ran"].append(name)
        return name

    @client.create_function(fn_id="no-retries", retries=0, trigger=inngest.TriggerEvent(event="case/kept"))
    async def no_retries(ctx: inngest.Context) -> list[str]:
        return [await ctx.step.run(n, lambda n=n: step(n)) for n in ("a", "b", "c")]

    return [no_retries]


def check(ctx: CaseContext) -> None:
    app = urlsplit(ctx.app_url)
    with closing_when_reused(app.netloc) as (front, counts):
        # The app is synced again at the front server's address: every call goes through it.
        sync(ctx.host, f"http://{front}{app.path}")
        run = ctx.wait_run(ctx.send("case/kept"), "Completed")
        assert run["output"] == ["a", "b", "c"]
        assert ctx.box["ran"] == ["a", "b", "c"]  # each step once
        if ctx.host.kind == "engine":
            # The engine keeps connections alive, so it met the closing timer (a real Dev
            # Server opens a new connection per call and never does).
            assert counts["closed"] >= 1
