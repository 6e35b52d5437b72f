"""Connect workers for the tests: the real inngest-py `connect()` in a thread or a process,
and a TCP proxy between a worker and the gateway that the test can cut."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import inngest
from inngest.connect import ConnectionState, connect

from learninngest.kit.servers import free_port
from tests.support import wait_for

REPO = Path(__file__).resolve().parents[3]


class ThreadWorker:
    """`inngest.connect.connect([(client, functions)])` running in a thread with its own loop."""

    def __init__(
        self,
        client: inngest.Inngest,
        functions: list[inngest.Function[Any]],
        instance_id: str,
        rewrite_gateway_endpoint: Callable[[str], str] | None = None,
    ) -> None:
        self.client = client
        self.functions = functions
        self.instance_id = instance_id
        self.rewrite = rewrite_gateway_endpoint
        self.conn: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ThreadWorker:
        ready = threading.Event()

        async def run() -> None:
            self._loop = asyncio.get_running_loop()
            self.conn = connect(
                [(self.client, self.functions)],
                instance_id=self.instance_id,
                rewrite_gateway_endpoint=self.rewrite,
            )
            ready.set()
            await self.conn.start()

        self._thread = threading.Thread(target=asyncio.run, args=(run(),), name=f"worker-{self.instance_id}")
        self._thread.start()
        ready.wait(10)
        wait_for(lambda: _assert_state(self.conn, ConnectionState.ACTIVE), timeout=20)
        return self

    def close_later(self) -> None:
        """Start the SDK's graceful shutdown (pause, finish the calls in hand, close)."""
        if self._loop is None or self.conn is None:
            return
        closing = self.conn.close()
        try:
            asyncio.run_coroutine_threadsafe(closing, self._loop)
        except RuntimeError:  # the loop already ended: the connection is closed
            closing.close()

    def __exit__(self, *exc: object) -> None:
        # conn.start() returns once the connection is closed, which ends the thread.
        self.close_later()
        if self._thread is not None:
            self._thread.join(30)


def _assert_state(conn: Any, state: ConnectionState) -> None:
    assert conn is not None and conn.get_state() == state, conn and conn.get_state()


@contextlib.contextmanager
def worker_process(
    engine_url: str, app_id: str, instance_id: str, markers: Path, *, hang: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    """tests/engine/connect/worker_app.py in a process of its own (to be killed); stopped at the end."""
    args = [
        sys.executable,
        "-m",
        "tests.engine.connect.worker_app",
        engine_url,
        app_id,
        instance_id,
        str(markers),
    ]
    proc = subprocess.Popen([*args, *(["--hang"] if hang else [])], cwd=REPO)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


class TcpProxy:
    """Forwards 127.0.0.1:port to `target_port`; `cut()` drops every connection and refuses
    new ones until `restore()` (a worker cut off from the gateway, its process alive)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.blocked = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    def rewrite(self, endpoint: str) -> str:
        return endpoint.replace(f":{self.target_port}/", f":{self.port}/")

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.blocked:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers.update({writer, up_writer})
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._writers.difference_update({writer, up_writer})

    def __enter__(self) -> TcpProxy:
        started = threading.Event()

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            started.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._server.serve_forever()
            # Let the aborted connections' pipes see their end before the loop goes.
            await asyncio.sleep(0.2)

        self._thread = threading.Thread(target=asyncio.run, args=(serve(),), name="tcp-proxy", daemon=True)
        self._thread.start()
        started.wait(10)
        return self

    def _drop(self) -> None:
        self.blocked = True
        for writer in list(self._writers):
            writer.transport.abort()

    def cut(self) -> None:
        """Returns once every connection is dropped."""
        assert self._loop is not None

        async def drop() -> None:
            self._drop()

        asyncio.run_coroutine_threadsafe(drop(), self._loop).result(5)

    def restore(self) -> None:
        self.blocked = False

    def __exit__(self, *exc: object) -> None:
        def shut() -> None:
            self._drop()
            if self._server is not None:
                self._server.close()

        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(shut)
        if self._thread is not None:
            self._thread.join(10)
