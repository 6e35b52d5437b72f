"""Engine throughput: completed runs per second for a two-step function, at concurrency 1 and 32.

Two placements of the app, measured in the same invocation so their figures compare:
- thread: engine and app in this process, each under uvicorn in its own thread (one GIL);
- process: the app under uvicorn in a child process, the engine in this one.
Besides wall-clock figures it reports the CPU time the engine thread and the app spent per
call (Linux /proc; nan elsewhere), which separates engine cost from app/SDK cost.

Loopback only, bounded in count and time. Usage:
    python bench/engine_throughput.py [--runs 200] [--step-ms 0] [--modes thread,process]
Prints a table; docs/performance.md ("Engine") keeps the figures of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import inngest
import inngest.fast_api
from fastapi import FastAPI

from learninngest.engine.app import create_engine_app
from learninngest.engine.settings import EngineSettings
from learninngest.kit.servers import BackgroundServer, free_port
from learninngest.serving.child_process import stop_child

CONCURRENCY = (1, 32)
CALLS_PER_RUN = 3  # two steps + the final call


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
        returned["runs"] += 1  # only a run's last call gets here (the others stop at a new step)
        return {"b": b}

    returned = {"runs": 0}
    app = FastAPI()
    inngest.fast_api.serve(app, client, [two_steps])

    @app.get("/bench/returned")
    async def runs_returned() -> dict[str, int]:
        """How many runs have made their last call: a bench waits on this, not on the engine."""
        return returned

    return app


def _cpu_seconds(stat_path: str) -> float:
    """utime + stime of a thread or process from /proc (nan where there is no /proc)."""
    try:
        fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _App:
    """The bench app, in a thread of this process or in a child process."""

    def __init__(self, mode: str, engine_url: str, step_ms: float) -> None:
        self.mode = mode
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._engine_url = engine_url
        self._step_ms = step_ms
        self._server: BackgroundServer | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _App:
        if self.mode == "thread":
            app = make_app(self._engine_url, self._step_ms)
            self._server = BackgroundServer(app, name="bench-app", port=self.port).start()
            return self
        cmd = [sys.executable, __file__, "--serve-app", str(self.port), self._engine_url, str(self._step_ms)]
        self._proc = subprocess.Popen(cmd)
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/inngest", timeout=1).status_code == 200:
                    return self
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"bench app process did not come up on {self.url}")
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.stop()
        if self._proc is not None:
            stop_child(self._proc)

    def cpu(self) -> float:
        if self._proc is not None:
            return _cpu_seconds(f"/proc/{self._proc.pid}/stat")
        assert self._server is not None and self._server._thread is not None
        return _cpu_seconds(f"/proc/self/task/{self._server._thread.native_id}/stat")


def _thread_cpu(server: BackgroundServer) -> float:
    assert server._thread is not None
    return _cpu_seconds(f"/proc/self/task/{server._thread.native_id}/stat")


@contextlib.contextmanager
def _stack(
    mode: str, concurrency: int, step_ms: float, db_path: str | None = None
) -> Iterator[tuple[BackgroundServer, _App]]:
    port = free_port()
    settings = EngineSettings(port=port, db_path=db_path, time_scale=0.01, max_concurrency=concurrency)
    with (
        BackgroundServer(create_engine_app(settings), name="engine", port=port) as engine,
        _App(mode, engine.url, step_ms) as app,
    ):
        yield engine, app


def _completed(http: httpx.Client) -> int:
    return int(http.get("/health").json()["runs"].get("Completed", 0))


def _prefill(http: httpx.Client, runs: int, time_limit: float) -> None:
    """`runs` finished runs in the state before measuring: they must not slow new ones."""
    events = [{"name": "bench/two-steps", "data": {"i": -i}} for i in range(runs)]
    for i in range(0, runs, 500):
        http.post("/e/bench", json=events[i : i + 500]).raise_for_status()
    deadline = time.perf_counter() + time_limit
    while _completed(http) < runs and time.perf_counter() < deadline:
        time.sleep(0.2)


def measure(
    concurrency: int,
    runs: int,
    time_limit: float,
    step_ms: float = 0.0,
    mode: str = "thread",
    *,
    durable: bool = False,
    prefill: int = 0,
) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        db_path = None
        if durable:
            db_path = str(Path(stack.enter_context(tempfile.TemporaryDirectory())) / "engine.db")
        engine, app = stack.enter_context(_stack(mode, concurrency, step_ms, db_path))
        http = stack.enter_context(httpx.Client(base_url=engine.url, timeout=30))
        assert httpx.put(f"{app.url}/api/inngest").json().get("ok")
        if prefill:
            _prefill(http, prefill, time_limit * 10)
        already = _completed(http)
        events = [{"name": "bench/two-steps", "data": {"i": i}} for i in range(runs)]
        engine_cpu, app_cpu = _thread_cpu(engine), app.cpu()
        start = time.perf_counter()
        ids: list[str] = []
        for i in range(0, runs, 100):
            ids += http.post("/e/bench", json=events[i : i + 100]).json()["ids"]
        done = 0
        while time.perf_counter() - start < time_limit:
            done = _completed(http) - already
            if done >= runs:
                break
            time.sleep(0.02)
        wall = time.perf_counter() - start
        engine_cpu, app_cpu = _thread_cpu(engine) - engine_cpu, app.cpu() - app_cpu
        # The call's round trip as the engine timed it (SDK + HTTP + the step), from a sample.
        inside = []
        for event_id in ids[:: max(1, runs // 20)]:
            for run in http.get(f"/v1/events/{event_id}/runs").json()["data"]:
                for step in http.get(f"/v1/runs/{run['run_id']}/steps").json()["data"]:
                    inside.append(step["duration_ms"] or 0.0)
    calls = done * CALLS_PER_RUN
    per_call = (lambda seconds: seconds * 1000 / calls) if calls else (lambda seconds: float("nan"))
    return {
        "mode": mode + (" durable" if durable else "") + (f" +{prefill}" if prefill else ""),
        "concurrency": concurrency,
        "runs": done,
        "seconds": wall,
        "runs_per_s": done / wall,
        "ms_per_call": per_call(wall),
        "ms_in_app": statistics.mean(inside) if inside else float("nan"),
        "engine_cpu_ms": per_call(engine_cpu),
        "app_cpu_ms": per_call(app_cpu),
    }


def _serve_app(port: int, engine_url: str, step_ms: float) -> None:
    """Child process of the `process` mode: the bench app alone under uvicorn."""
    import uvicorn

    uvicorn.run(make_app(engine_url, step_ms), host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    if sys.argv[1:2] == ["--serve-app"]:
        _serve_app(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per measurement")
    parser.add_argument("--step-ms", type=float, default=0.0, help="simulated I/O wait inside each step")
    parser.add_argument("--modes", default="thread,process", help="app placements: thread, process or both")
    parser.add_argument(
        "--concurrency", default="1,32", help="runs in flight (the engine's limit), e.g. 1,32,256"
    )
    parser.add_argument("--durable", action="store_true", help="also measure with a SQLite state file")
    parser.add_argument(
        "--prefill", type=int, default=0, help="also measure after N finished runs (e.g. 10000)"
    )
    args = parser.parse_args()
    levels = tuple(int(c) for c in args.concurrency.split(","))
    logging.getLogger("learninngest.engine").setLevel(logging.WARNING)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or not set(modes) <= {"thread", "process"}:
        parser.error("--modes takes thread, process or thread,process")
    measure(1, 20, args.time_limit, args.step_ms, modes[0])  # warm-up (imports, first calls), not shown
    variants = [{}] + ([{"durable": True}] if args.durable else [])
    variants += [{**v, "prefill": args.prefill} for v in variants] if args.prefill else []
    rows = [
        measure(c, args.runs, args.time_limit, args.step_ms, m, **v)
        for v in variants
        for m in modes
        for c in levels
    ]
    print(f"two-step function, {args.step_ms:g} ms of simulated I/O per step")
    header = [
        "app",
        "concurrency",
        "runs",
        "seconds",
        "runs/s",
        "ms/call",
        "ms in app",
        "engine cpu",
        "app cpu",
    ]
    widths = (7, 11, 5, 8, 7, 8, 9, 10, 8)
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True)))
    keys = ("mode", "concurrency", "runs", "seconds", "runs_per_s", "ms_per_call", "ms_in_app")
    keys += ("engine_cpu_ms", "app_cpu_ms")
    for r in rows:
        cells = [
            f"{r[k]:>{w}.2f}" if isinstance(r[k], float) else f"{r[k]:>{w}}"
            for k, w in zip(keys, widths, strict=True)
        ]
        print(" ".join(cells))
    for mode in dict.fromkeys(r["mode"] for r in rows):
        low, high = (
            next(r for r in rows if r["mode"] == mode and r["concurrency"] == c)
            for c in (levels[0], levels[-1])
        )
        print(
            f"{mode}: runs/s at concurrency {levels[-1]} / at {levels[0]} = "
            f"{high['runs_per_s'] / low['runs_per_s']:.2f}x"
        )
    if modes == ["thread", "process"] and levels == CONCURRENCY:
        for c in CONCURRENCY:
            t, p = (next(r for r in rows if r["mode"] == m and r["concurrency"] == c) for m in modes)
            print(f"concurrency {c}: runs/s process / thread = {p['runs_per_s'] / t['runs_per_s']:.2f}x")
    print("ms/call: wall time per call to the app (3 calls per run); ms in app: the call's round trip")
    print("as the engine timed it; engine cpu / app cpu: CPU ms per call of the engine's thread and of")
    print("the app (its thread, or its process).")


if __name__ == "__main__":
    main()
