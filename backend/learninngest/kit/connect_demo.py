"""Connect workers for the `connect_workers` lesson: one in a process the lesson can kill
mid-call, and one in the kernel to take over.

`python -m learninngest.kit.connect_demo ENGINE_URL INSTANCE_ID [--hang]` dials out to the
engine and serves `make_functions` until it is killed: no HTTP server, no port. It prints a
line when a step starts, so the lesson knows the call is in its hands. `in_thread` runs the
same functions as a worker in a thread of the kernel (its own event loop: a blocking cell
does not stop it).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import inngest
from inngest.connect import ConnectionState, connect

APP_ID = "connect-demo"


def client_for(engine_url: str) -> inngest.Inngest:
    return inngest.Inngest(
        app_id=APP_ID, is_production=False, api_base_url=engine_url, event_api_base_url=engine_url
    )


def make_functions(
    client: inngest.Inngest, instance_id: str, *, hang: bool = False
) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="report", trigger=inngest.TriggerEvent(event="demo/report.requested"))
    async def report(ctx: inngest.Context) -> str:
        async def build() -> str:
            print(f"{instance_id}: building report {ctx.event.data['n']} (attempt {ctx.attempt})", flush=True)
            if hang:
                await asyncio.sleep(3600)  # this worker dies before the report is built
            return f"report {ctx.event.data['n']} built by {instance_id}"

        return await ctx.step.run("build", build)

    return [report]


class WorkerProcess:
    """This module run as a worker process; `lines` collects what it prints."""

    def __init__(self, engine_url: str, instance_id: str, *, hang: bool = False) -> None:
        self.engine_url, self.instance_id = engine_url, instance_id
        args = [sys.executable, "-m", __name__, engine_url, instance_id, *(["--hang"] if hang else [])]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, name=f"{instance_id}-stdout", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until the engine lists this worker's connection as ready (its app synced)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            conns = httpx.get(f"{self.engine_url}/v0/connect/envs/dev/conns", timeout=5).json()["data"]
            if any(c["instance_id"] == self.instance_id and c["status"] == 1 for c in conns):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise TimeoutError(
            f"worker {self.instance_id} was not ready within {timeout:g}s (printed {self.lines})"
        )

    def wait_for_line(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if text in line:
                    return line
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise TimeoutError(f"the worker process printed no line with {text!r} (it printed {self.lines})")

    def kill(self) -> None:
        """SIGKILL: no goodbye on its socket, the call in its hands is simply gone."""
        self.proc.kill()
        self.proc.wait(10)


@contextlib.contextmanager
def in_thread(engine_url: str, instance_id: str, timeout: float = 30.0) -> Iterator[Any]:
    """A worker in a thread of this process, connected (ACTIVE) when the block starts;
    closed gracefully (pause, finish the calls in hand) when it ends."""
    client = client_for(engine_url)
    functions = make_functions(client, instance_id)
    holder: dict[str, Any] = {}
    ready = threading.Event()

    async def run() -> None:
        holder["loop"] = asyncio.get_running_loop()
        holder["conn"] = conn = connect([(client, functions)], instance_id=instance_id, shutdown_signals=[])
        ready.set()
        await conn.start()

    thread = threading.Thread(target=asyncio.run, args=(run(),), name=f"worker-{instance_id}", daemon=True)
    thread.start()
    ready.wait(timeout)
    conn = holder["conn"]
    deadline = time.monotonic() + timeout
    while conn.get_state() != ConnectionState.ACTIVE:
        if time.monotonic() > deadline:
            raise TimeoutError(f"worker {instance_id} did not connect within {timeout:g}s")
        time.sleep(0.05)
    try:
        yield conn
    finally:
        with contextlib.suppress(RuntimeError):  # the loop already ended: the worker is closed
            asyncio.run_coroutine_threadsafe(conn.close(), holder["loop"]).result(timeout)
        thread.join(timeout)


async def _main(engine_url: str, instance_id: str, hang: bool) -> None:
    client = client_for(engine_url)
    conn = connect([(client, make_functions(client, instance_id, hang=hang))], instance_id=instance_id)
    await conn.start()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], sys.argv[2], "--hang" in sys.argv[3:]))
