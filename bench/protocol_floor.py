"""What the Inngest protocol costs per chat request at its floor, before any kit code runs.

A chat request's run has two steps (`generate`, `save`), so the Python SDK needs one event
send and three calls (one step per call, then the function's return): four HTTP exchanges
and the SDK's own work on each. This bench measures those parts apart, each at the least it
can cost here, so the kit's figures in bench/pipeline.py can be read against a floor:

- `exchange`: one HTTP exchange between two processes on loopback with the cheapest pieces
  the kit has, no middleware and no framework: the engine's keep-alive client
  (serving/plain_http.py) posting a call-sized JSON body to a bare uvicorn (uvloop,
  httptools) whose raw ASGI app reads it and answers a 206 with the SDK's headers. CPU of
  both processes per exchange.
- `sdk-calls`: the SDK's own work for one run's three calls, in this process with no HTTP:
  `CommHandler.post` with the three bodies the engine sends for a two-step function (the
  steps' own code does nothing), as worker/serve.py calls it.
- `sdk-send`: the SDK's own work for one `Inngest.send` of the chat event, with no HTTP
  (the kit's client class, worker/client.py, over a transport that answers at once in
  memory: only the SDK's CPU is counted; the exchange is the row above).
- `redis`: one Redis command round trip (redis-py's asyncio client and redis-server, both
  processes' CPU): the unit Celery and arq move a task with.

Usage: python bench/protocol_floor.py [--n 3000] [--concurrency 1,32] [--rounds 3]
Loopback only; starts its own uvicorn and redis-server and stops them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import pipeline  # bench/pipeline.py, beside this script: its redis-server
import psutil

from learninngest.serving.ports import free_port

EVENT: dict[str, Any] = {
    "name": "chat/requested",
    "data": {"request_id": "01JBENCHREQUEST00000000000", "query": "What is the capital of France?"},
    "id": "01JBENCHEVENT0000000000000",
    "ts": 1_765_000_000_000,
}
ANSWER = {"text": "Paris is the capital of France. " * 4, "model": "offline", "tokens": 42}
SDK_HEADERS = [
    (b"content-type", b"application/json"),
    (b"x-inngest-sdk", b"inngest-py:v0.5.19"),
    (b"x-inngest-req-version", b"2"),
    (b"user-agent", b"inngest-py:v0.5.19"),
    (b"x-inngest-framework", b"fast_api"),
    (b"x-inngest-expected-server-kind", b"dev"),
    (b"x-inngest-sdk-handled", b"true"),
    (b"server-timing", b"handler;dur=1"),
]


def _step_id(name: str) -> str:
    import hashlib

    return hashlib.sha1(name.encode()).hexdigest()


def call_body(memo: dict[str, Any]) -> dict[str, Any]:
    """The body the engine posts for the chat run, with `memo` as the memoized steps."""
    return {
        "event": EVENT,
        "events": [EVENT],
        "steps": memo,
        "ctx": {
            "run_id": "01JBENCHRUN000000000000000",
            "attempt": 0,
            "max_attempts": 4,
            "disable_immediate_execution": False,
            "use_api": False,
            "fn_id": "3f1a0f6e-0000-5000-8000-000000000000",
            "qi_id": "01JBENCHRUN000000000000000",
            "stack": {"stack": list(memo), "current": len(memo)},
        },
        "use_api": False,
        "version": 1,
    }


CALL_BODIES = [
    call_body({}),
    call_body({_step_id("generate"): {"data": ANSWER}}),
    call_body({_step_id("generate"): {"data": ANSWER}, _step_id("save"): {"data": "saved"}}),
]
REPLY = json.dumps(
    [
        {
            "displayName": "generate",
            "id": _step_id("generate"),
            "name": "generate",
            "op": "StepRun",
            "opts": None,
            "userland": {"id": "generate", "index": None},
            "data": ANSWER,
        }
    ]
).encode()


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_of(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


# --- exchange: a bare uvicorn, the engine's client
async def bare_app(
    scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Any
) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 206, "headers": SDK_HEADERS})
    await send({"type": "http.response.body", "body": REPLY})


def serve(port: int) -> None:
    import uvicorn

    uvicorn.run(bare_app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="warning")


@contextlib.contextmanager
def bare_server() -> Iterator[tuple[str, psutil.Process]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "serve", "--port", str(port)])
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the bare uvicorn did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/api/inngest?fnId=bench-chat&stepId=step", psutil.Process(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


async def exchanges(url: str, n: int, concurrency: int) -> None:
    from learninngest.serving.plain_http import PlainHttp

    client = PlainHttp(30.0, 10.0)
    body = json.dumps(CALL_BODIES[1], separators=(",", ":")).encode()
    headers = {
        "content-type": "application/json",
        "user-agent": "learninngest-engine",
        "x-inngest-server-kind": "dev",
    }
    left = iter(range(n))

    async def worker() -> None:
        for _ in left:
            reply = await client.post(url, body, headers)
            assert reply.status == 206, reply.status

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        client.close()


def measure_exchange(n: int, concurrency: int) -> float:
    with bare_server() as (url, server):
        asyncio.run(exchanges(url, 200, concurrency))  # warm-up: connections, imports
        before = cpu_self() + cpu_of(server)
        asyncio.run(exchanges(url, n, concurrency))
        return (cpu_self() + cpu_of(server) - before) * 1000 / n


# --- the SDK's own work, in this process
def sdk_parts() -> tuple[Any, Any]:
    import inngest
    from inngest._internal import comm_lib, server_lib

    from learninngest.worker.client import StraightToTransport

    class Answered(httpx.AsyncBaseTransport):
        """The event API's answer, at once: only the SDK's work is left to measure."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await request.aread()
            return httpx.Response(200, json={"ids": [EVENT["id"]], "status": 200})

    os.environ.setdefault("INNGEST_DEV", "1")
    client = inngest.Inngest(app_id="bench", is_production=False, event_api_base_url="http://127.0.0.1:9")
    # Where worker/client.py puts the kit's own client (its class, this transport).
    client._http_client._http_client = StraightToTransport(transport=Answered()).initialize()

    @client.create_function(fn_id="chat", trigger=inngest.TriggerEvent(event="chat/requested"))
    async def chat(ctx: inngest.Context) -> dict[str, Any]:
        async def generate() -> dict[str, Any]:
            return ANSWER

        async def save() -> str:
            return "saved"

        result = await ctx.step.run("generate", generate)
        await ctx.step.run("save", save)
        return {"request_id": ctx.event.data["request_id"], "tokens": result["tokens"]}

    handler = comm_lib.CommHandler(
        client=client,
        enable_unauthed_sync=True,
        framework=server_lib.Framework.FAST_API,
        functions=[chat],
        streaming=None,
    )
    return client, handler


async def sdk_calls(handler: Any, n: int) -> None:
    from inngest._internal import comm_lib

    bodies = [json.dumps(b).encode() for b in CALL_BODIES]
    headers = {"content-type": "application/json", "x-inngest-server-kind": "dev"}
    query = {"fnId": "bench-chat", "stepId": "step"}
    for _ in range(n):
        for body in bodies:
            reply = await handler.post(
                comm_lib.CommRequest(
                    body=body,
                    headers=headers,
                    public_path=None,
                    query_params=query,
                    raw_request=None,
                    request_url="http://127.0.0.1:8000/api/inngest?fnId=bench-chat&stepId=step",
                    serve_origin=None,
                    serve_path="/api/inngest",
                )
            )
            assert reply.status_code in (200, 206), (reply.status_code, reply.body)


async def sdk_sends(client: Any, n: int) -> None:
    import inngest

    for _ in range(n):
        await client.send(inngest.Event(name=EVENT["name"], data=EVENT["data"]))


def measure_in_process(run: Callable[[int], Coroutine[Any, Any, None]], n: int) -> float:
    asyncio.run(run(100))
    before = cpu_self()
    asyncio.run(run(n))
    return (cpu_self() - before) * 1000 / n


# --- redis: one command round trip
async def redis_round_trips(url: str, n: int, concurrency: int) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(url, max_connections=concurrency)
    payload = json.dumps(CALL_BODIES[1]).encode()
    left = iter(range(n))

    async def worker(index: int) -> None:
        for _ in left:
            await client.set(f"bench:{index}", payload)

    try:
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    finally:
        await client.aclose()


def measure_redis(n: int, concurrency: int) -> float:
    with tempfile.TemporaryDirectory() as tmp, pipeline.redis_server(Path(tmp)) as url:
        server = next(p for p in psutil.Process().children() if p.name() == "redis-server")
        asyncio.run(redis_round_trips(url, 200, concurrency))
        before = cpu_self() + cpu_of(server)
        asyncio.run(redis_round_trips(url, n, concurrency))
        return (cpu_self() + cpu_of(server) - before) * 1000 / n


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(int(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3000, help="exchanges, runs or sends per measurement")
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    levels = [int(x) for x in args.concurrency.split(",")]
    client, handler = sdk_parts()
    figures: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for c in levels:
            figures.setdefault(f"exchange C={c}", []).append(measure_exchange(args.n, c))
            figures.setdefault(f"redis C={c}", []).append(measure_redis(args.n, c))
        figures.setdefault("sdk-calls (3 per run)", []).append(
            measure_in_process(lambda k: sdk_calls(handler, k), args.n // 3)
        )
        figures.setdefault("sdk-send", []).append(measure_in_process(lambda k: sdk_sends(client, k), args.n))
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {args.rounds} rounds, N = {args.n}\n")
    print("| part | CPU ms (both processes where two) | rounds |")
    print("| --- | ---: | --- |")
    for name, values in figures.items():
        unit = "per run" if name.startswith("sdk-calls") else "each"
        rounds = ", ".join(f"{v:.3f}" for v in values)
        print(f"| {name} | {statistics.median(values):.3f} {unit} | {rounds} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
