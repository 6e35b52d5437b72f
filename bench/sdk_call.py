"""CPU per engine call (POST /api/inngest) in the backend, in one process, without sockets.

Each call goes through what uvicorn hands it to (serving/limits.py: RequireHost and
BodyTimeout around the app), then the app, to a function that returns at once: what is
measured is the backend's plumbing and the SDK's handler, not a model. Layer by layer
(`--layers`), the same call is also sent to the app alone, to the fast path's stack
(worker/fast_calls.py), to `ServedFunctions` and to the SDK's handler alone.

A/B against another checkout: run it twice, once with PYTHONPATH=OTHER/backend, e.g.
    python bench/sdk_call.py && PYTHONPATH=../main/backend python bench/sdk_call.py
Medians and minimums over rounds of process CPU time (the machine may be shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import inngest
from inngest._internal import comm_lib

from learninngest.app import create_app
from learninngest.config import get_settings
from learninngest.serving.body_timeout import BodyTimeout
from learninngest.serving.host_header import RequireHost

BODY = json.dumps(
    {
        "ctx": {
            "run_id": "run-1",
            "attempt": 0,
            "fn_id": "noop",
            "stack": {"stack": []},
            "disable_immediate_execution": False,
            "use_api": False,
        },
        "event": {"name": "bench/noop", "data": {}},
        "events": [{"name": "bench/noop", "data": {}}],
        "steps": {},
        "use_api": False,
        "version": 1,
    }
).encode()
QUERY = b"fnId=learninngest-noop&stepId=step"
HEADERS = [
    (b"host", b"127.0.0.1:8000"),
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
    (b"x-inngest-server-kind", b"dev"),
    (b"user-agent", b"learninngest-engine"),
    (b"accept", b"*/*"),
    (b"accept-encoding", b"gzip, deflate"),
]


def scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/inngest",
        "raw_path": b"/api/inngest",
        "root_path": "",
        "query_string": QUERY,
        "headers": list(HEADERS),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def call(app: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope(), receive, send)
    return sent


async def run(rounds: int, n: int, layers: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = get_settings(
            inngest_base_url="http://127.0.0.1:9", result_store_url=f"sqlite:///{folder}/results.db"
        )
        app = create_app(settings)
        client: inngest.Inngest = app.state.inngest

        @client.create_function(fn_id="noop", trigger=inngest.TriggerEvent(event="bench/noop"))
        async def noop(ctx: inngest.Context) -> str:
            return "ok"

        served = app.state.functions
        served.add(noop)
        outer = RequireHost(BodyTimeout(app, 30))
        first = await call(outer)
        assert first[0]["status"] == 200, first
        targets: dict[str, Callable[[], Awaitable[Any]]] = {"uvicorn's app (all of it)": lambda: call(outer)}
        if layers:
            origin, public_path = served._where
            handler = served._handler

            async def handler_only() -> None:
                await handler.post(
                    comm_lib.CommRequest(
                        body=BODY,
                        headers={k.decode("latin-1"): v.decode("latin-1") for k, v in HEADERS},
                        public_path=public_path,
                        query_params={"fnId": "learninngest-noop", "stepId": "step"},
                        raw_request=None,
                        request_url="http://127.0.0.1:8000/api/inngest?" + QUERY.decode(),
                        serve_origin=origin,
                        serve_path="/api/inngest",
                    )
                )

            targets["the FastAPI app"] = lambda: call(app)
            calls = getattr(app.middleware_stack, "fast", None)  # the fast path's stack (RouteFirst), if any
            if calls is not None:
                targets["the fast path's stack"] = lambda: call(calls)
            targets["ServedFunctions"] = lambda: call(served)
            targets["the SDK's handler alone"] = handler_only
        figures: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(rounds):
            for name, target in targets.items():
                start = time.process_time()
                for _ in range(n):
                    await target()
                figures[name].append((time.process_time() - start) / n * 1e6)
        for name, values in figures.items():
            print(f"{name}: median {statistics.median(values):.0f} µs, min {min(values):.0f} µs per call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--n", type=int, default=2000, help="calls per round")
    parser.add_argument("--layers", action="store_true", help="also each layer on its own")
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.n, args.layers))


if __name__ == "__main__":
    main()
