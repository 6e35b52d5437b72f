"""Engine throughput: completed runs per second for a two-step function, at concurrency 1 and 32.

Loopback only, bounded in count and time. Usage:
    python bench/engine_throughput.py [--runs 200] [--time-limit 60]
Prints a table; docs/performance.md ("Engine") keeps the figures of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from typing import Any

import httpx
import inngest
import inngest.fast_api
from fastapi import FastAPI

from learninngest.engine.app import create_engine_app
from learninngest.engine.settings import EngineSettings
from learninngest.kit.servers import BackgroundServer, free_port


def make_app(engine_url: str, step_ms: float) -> FastAPI:
    client = inngest.Inngest(
        app_id="bench", is_production=False, api_base_url=engine_url, event_api_base_url=engine_url
    )

    @client.create_function(fn_id="two-steps", trigger=inngest.TriggerEvent(event="bench/two-steps"))
    async def two_steps(ctx: inngest.Context) -> dict[str, Any]:
        async def work(value: str) -> str:
            if step_ms:
                await asyncio.sleep(step_ms / 1000)  # stands in for an I/O wait (an LLM call)
            return value

        a = await ctx.step.run("first", work, "A")
        b = await ctx.step.run("second", work, a + "B")
        return {"b": b}

    app = FastAPI()
    inngest.fast_api.serve(app, client, [two_steps])
    return app


def measure(concurrency: int, runs: int, time_limit: float, step_ms: float = 0.0) -> dict[str, float]:
    port = free_port()
    settings = EngineSettings(port=port, db_path=None, time_scale=0.01, max_concurrency=concurrency)
    with (
        BackgroundServer(create_engine_app(settings), name="engine", port=port) as engine,
        BackgroundServer(make_app(engine.url, step_ms), name="bench-app") as app,
        httpx.Client(base_url=engine.url, timeout=30) as http,
    ):
        assert httpx.put(f"{app.url}/api/inngest").json().get("ok")
        events = [{"name": "bench/two-steps", "data": {"i": i}} for i in range(runs)]
        start = time.perf_counter()
        ids: list[str] = []
        for i in range(0, runs, 100):
            ids += http.post("/e/bench", json=events[i : i + 100]).json()["ids"]
        done = 0
        while time.perf_counter() - start < time_limit:
            done = http.get("/health").json()["runs"].get("Completed", 0)
            if done >= runs:
                break
            time.sleep(0.02)
        wall = time.perf_counter() - start
        # Time spent inside the app (SDK + HTTP round trip), from the timeline of a sample.
        inside = []
        for event_id in ids[:: max(1, runs // 20)]:
            for run in http.get(f"/v1/events/{event_id}/runs").json()["data"]:
                for step in http.get(f"/v1/runs/{run['run_id']}/steps").json()["data"]:
                    inside.append(step["duration_ms"] or 0.0)
    calls = done * 3  # two steps + the final call
    per_call = wall * 1000 / calls if calls else float("nan")
    in_app = statistics.mean(inside) if inside else float("nan")
    return {
        "concurrency": concurrency,
        "runs": done,
        "seconds": wall,
        "runs_per_s": done / wall,
        "ms_per_call": per_call,
        "ms_in_app": in_app,
        "ms_engine": per_call - in_app if concurrency == 1 else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per measurement")
    parser.add_argument("--step-ms", type=float, default=0.0, help="simulated I/O wait inside each step")
    args = parser.parse_args()
    logging.getLogger("learninngest.engine").setLevel(logging.WARNING)
    rows = [measure(c, args.runs, args.time_limit, args.step_ms) for c in (1, 32)]
    print(f"two-step function, {args.step_ms:g} ms of simulated I/O per step")
    header = ["concurrency", "runs", "seconds", "runs/s", "ms/call", "ms in app", "ms engine"]
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (11, 5, 8, 7, 8, 9, 9), strict=True)))
    for r in rows:
        print(
            f"{r['concurrency']:>11} {r['runs']:>5} {r['seconds']:>8.2f} {r['runs_per_s']:>7.1f} "
            f"{r['ms_per_call']:>8.2f} {r['ms_in_app']:>9.2f} {r['ms_engine']:>9.2f}"
        )
    print("ms/call: wall time per call to the app (3 calls per run); ms in app: the call's round trip")
    print("as the engine timed it; ms engine: the rest (state writes, queueing), at concurrency 1.")


if __name__ == "__main__":
    main()
