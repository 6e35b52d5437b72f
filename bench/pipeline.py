"""The whole pipeline's cost per request, beside the same API served by simpler plumbing.

Systems (each serves POST /api/v1/chat → 202 and GET /api/v1/chat/result/{id}?wait=S, and
makes the same LangChain call to the same offline model, which runs in its own process so
its CPU is not counted):

- inline: a FastAPI endpoint that awaits the LLM call itself (the baseline);
- background: FastAPI BackgroundTasks;  celery: Celery + Redis;  arq: arq + Redis;
- learninngest: `learninngest up` (POST → event → local engine → /api/inngest calls → LLM
  → store → GET), memory engine and store; `learninngest-durable`: SQLite engine and store;
  `-sqlite` / `-redis`: that result store (engine in memory); `-2p`: `up --workers 2`, the
  backend in two processes (e.g. learninngest-sqlite-2p, learninngest-durable-2p); `-stream`:
  LLM_STREAM=true, tokens streamed to the stream channel (every other system: LLM_STREAM=false,
  so all make the same non-streaming call); `-connect`: INNGEST_CONNECT=1, the backend takes
  its calls as a connect worker over one WebSocket instead of HTTP calls to /api/inngest;
- learninngest-before: the same with the code of `--before DIR` (PYTHONPATH=DIR/backend);
  learninngest-nouvloop: with uvloop hidden, so uvicorn runs the asyncio loop.

Rounds are interleaved (round 1 of every system, then round 2, ...) and the table shows
medians over rounds. Per request: server CPU ms (every process of the system, the offline
model excluded; `api` and `engine/worker` apart; the redis-server's CPU in the same window
beside it as `broker`, not added: Celery's and arq's broker and result backend, unused by
learninngest with memory stores), e2e overhead = e2e − model latency, p50
and p95, throughput, GET requests per result, and the long-poll's wake-up: from the
result's store write (its `completed_at`) to the waiting GET woken and to its answer built
(learninngest's `Server-Timing`), and to the answer received by the bench's client.
`--profile` adds a py-spy profile of each system at the highest concurrency, folded into
components.

Loopback only; starts its own redis-server and stops everything it started. Usage:
    python bench/pipeline.py [--n 300] [--rounds 3] [--model-ms 0] [--concurrency 1,32]
        [--systems inline,celery,arq,learninngest] [--before DIR] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

HERE = Path(__file__).resolve().parent
PY = sys.executable
QUERY = "What is the capital of France?"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class System:
    """One running system: its processes, its URL."""

    name: str
    url: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def processes(self) -> dict[str, list[psutil.Process]]:
        """The system's processes by role: `api` (the HTTP server) and `engine/worker`."""
        roles: dict[str, list[psutil.Process]] = {"api": [], "engine/worker": []}
        for index, popen in enumerate(self.procs):
            with contextlib.suppress(psutil.NoSuchProcess):
                root = psutil.Process(popen.pid)
                for proc in [root, *root.children(recursive=True)]:
                    # The arguments, not the whole command line: its path may say "worker" too.
                    args = proc.cmdline()[1:]
                    worker = index > 0 or "engine" in args or any(a.endswith("worker") for a in args)
                    roles["engine/worker" if worker else "api"].append(proc)
        return roles

    def cpu(self) -> dict[str, float]:
        out = {}
        for role, procs in self.processes().items():
            total = 0.0
            for proc in procs:
                with contextlib.suppress(psutil.NoSuchProcess):
                    times = proc.cpu_times()
                    total += times.user + times.system
            out[role] = total
        return out

    def rss_mb(self) -> float:
        return sum(p.memory_info().rss for ps in self.processes().values() for p in ps) / 2**20

    def stop(self) -> None:
        for popen in reversed(self.procs):
            popen.terminate()
        for popen in self.procs:
            try:
                popen.wait(15)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(5)


def _spawn(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)


def start_system(name: str, model_url: str, redis_url: str, work: Path, before: Path | None) -> System:
    port = free_port()
    env = {
        **os.environ,
        "OFFLINE_MODEL_URL": model_url,
        "LLM_PROVIDER": "offline",
        "LOG_LEVEL": "WARNING",
        "BENCH_REDIS_URL": redis_url,
        "WORKER_CONCURRENCY": "64",
        "RESULT_STORE_URL": "memory://",
        "ENGINE_DB": "memory",
        # Every system makes the same call: ainvoke/invoke, not a token stream (the baselines do
        # not stream). `learninngest-stream` measures what streaming tokens to the channel costs.
        "LLM_STREAM": "false",
    }
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=work))  # no .env, own files
    log = folder / "server.log"
    baselines = str(HERE / "pipeline_baselines.py")
    system = System(name, f"http://127.0.0.1:{port}")
    if name.startswith("learninngest"):
        parts = name.split("-")[1:]
        if "stream" in parts:
            env["LLM_STREAM"] = "true"
        if "connect" in parts:  # the backend dials the engine (one WebSocket), no /api/inngest calls
            env["INNGEST_CONNECT"] = "1"
        if "durable" in parts:
            env["ENGINE_DB"] = str(folder / "engine.db")
        if "durable" in parts or "sqlite" in parts:
            env["RESULT_STORE_URL"] = f"sqlite:///{folder / 'results.db'}"
        if "redis" in parts:
            env["RESULT_STORE_URL"] = redis_url.rsplit("/", 1)[0] + "/3"  # celery and arq use /0
        processes = [p[:-1] for p in parts if p.endswith("p") and p[:-1].isdigit()]
        if processes:
            env["BACKEND_WORKERS"] = processes[0]
        if name.endswith("nouvloop"):  # the asyncio loop instead of uvloop (uvicorn's "auto" choice)
            shim = folder / "shim" / "uvloop"
            shim.mkdir(parents=True)
            (shim / "__init__.py").write_text('raise ImportError("uvloop is hidden by bench/pipeline.py")\n')
            env["PYTHONPATH"] = str(folder / "shim")
        if name.endswith("before"):
            assert before is not None, "--before DIR is needed for learninngest-before"
            env["PYTHONPATH"] = str(before / "backend")
        cmd = [PY, "-m", "learninngest", "up", "--port", str(port), "--engine-port", str(free_port())]
        system.procs.append(_spawn(cmd, env, folder, log))
    elif name in ("inline", "background"):
        system.procs.append(_spawn([PY, baselines, name, "--port", str(port)], env, folder, log))
    elif name in ("celery", "arq"):
        system.procs.append(_spawn([PY, baselines, f"{name}-api", "--port", str(port)], env, folder, log))
        system.procs.append(_spawn([PY, baselines, f"{name}-worker"], env, folder, log))
    else:
        raise SystemExit(f"unknown system {name!r}")
    try:
        _wait_ready(system, log)
    except BaseException:
        system.stop()
        raise
    return system


def _wait_ready(system: System, log: Path) -> None:
    """Until one whole request succeeds (the backend answers 503 until the app is synced)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in system.procs):
            raise RuntimeError(f"{system.name} exited; its log:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if not asyncio.run(_load(system.url, 1, 3, 0)).errors:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{system.name} not ready in 90 s; its log:\n{log.read_text()[-3000:]}")


@dataclass
class Load:
    e2e_s: list[float]
    gets: list[int]
    wake_ms: list[float]
    wall_s: float
    # From the backend's Server-Timing (learninngest only): store write → waiter woken, → answer.
    woken_ms: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def _one(client: httpx.AsyncClient, out: Load) -> None:
    start = time.perf_counter()
    reply = await client.post("/api/v1/chat", json={"query": QUERY})
    if reply.is_error:
        raise httpx.HTTPError(f"POST answered {reply.status_code}: {reply.text[:300]}")
    url = reply.json()["result_url"]
    gets = 0
    while True:
        gets += 1
        if time.perf_counter() - start > 120:
            raise httpx.HTTPError(f"no result in 120 s: {url}")
        got = await client.get(url, params={"wait": 10})
        got.raise_for_status()
        body = got.json()
        if body["status"] != "pending":
            break
    now = datetime.now(UTC)
    out.e2e_s.append(time.perf_counter() - start)
    out.gets.append(gets)
    if body.get("completed_at"):
        stored = datetime.fromisoformat(body["completed_at"])
        out.wake_ms.append((now - stored).total_seconds() * 1000)
    timing = server_timing(got.headers.get("server-timing", ""))
    if "wake" in timing:
        out.woken_ms.append(timing["wake"])
        out.answer_ms.append(timing.get("answer", float("nan")))
    if body["status"] != "done":
        raise httpx.HTTPError(f"request ended {body['status']}: {body.get('error')}")


def server_timing(header: str) -> dict[str, float]:
    """`wake;dur=1.2, answer;dur=1.5` → {"wake": 1.2, "answer": 1.5}."""
    out = {}
    for metric in header.split(","):
        name, _, params = metric.strip().partition(";")
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "dur":
                with contextlib.suppress(ValueError):
                    out[name] = float(value)
    return out


async def _load(url: str, concurrency: int, n: int, _model_ms: float) -> Load:
    out = Load([], [], [], 0.0)
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        left = iter(range(n))

        async def worker() -> None:
            for _ in left:
                try:
                    await _one(client, out)
                except httpx.HTTPError as exc:  # counted and shown: a failure is a result too
                    out.errors.append(str(exc))

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        out.wall_s = time.perf_counter() - start
    return out


def measure(system: System, concurrency: int, n: int, model_ms: float) -> dict[str, float]:
    asyncio.run(_load(system.url, concurrency, min(n, 30), model_ms))  # warm-up
    broker_before = _broker_cpu()
    before = system.cpu()
    load = asyncio.run(_load(system.url, concurrency, n, model_ms))
    after = system.cpu()
    broker = (_broker_cpu() - broker_before) * 1000 / n
    if load.errors:
        print(
            f"{system.name} C={concurrency}: {len(load.errors)} failed, first: {load.errors[0]}", flush=True
        )
    cpu = {role: (after[role] - before[role]) * 1000 / n for role in after}
    overhead = sorted((s * 1000 - model_ms) for s in load.e2e_s) or [float("nan")]
    return {
        "throughput": n / load.wall_s,
        "p50": statistics.median(overhead),
        "p95": overhead[int(0.95 * (len(overhead) - 1))],
        "cpu_api": cpu["api"],
        "cpu_engine": cpu["engine/worker"],
        "cpu": sum(cpu.values()),
        "cpu_broker": broker,
        "gets": statistics.mean(load.gets),
        "wake_p50": statistics.median(load.wake_ms) if load.wake_ms else float("nan"),
        "woken_p50": statistics.median(load.woken_ms) if load.woken_ms else float("nan"),
        "woken_p95": _p95(load.woken_ms),
        "answer_p50": statistics.median(load.answer_ms) if load.answer_ms else float("nan"),
        "rss_mb": system.rss_mb(),
        "errors": len(load.errors),
    }


def _broker_ms(name: str, figures: dict[str, float]) -> str:
    """The redis-server's CPU per request, for the systems that use it (idle, it still spends
    a few ms per second on its own timers: not a share of a system that never calls it)."""
    uses_redis = name.split("-")[0] in ("celery", "arq") or "redis" in name.split("-")
    return f"{figures['cpu_broker']:.1f}" if uses_redis and "cpu_broker" in figures else "–"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))] if ordered else float("nan")


# The running redis-server's process: its CPU during a measurement is the broker's share of
# the system measured (Celery's and arq's broker and result backend; learninngest with memory
# stores uses none). Reported beside the systems' own CPU, never added to it.
_broker: psutil.Process | None = None


def _broker_cpu() -> float:
    if _broker is None:
        return 0.0
    with contextlib.suppress(psutil.NoSuchProcess):
        times = _broker.cpu_times()
        return float(times.user + times.system)
    return 0.0


@contextlib.contextmanager
def redis_server(work: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is needed for the celery and arq systems")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    global _broker
    _broker = psutil.Process(proc.pid)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _broker = None
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def offline_model(model_ms: float, work: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "OFFLINE_LATENCY_MEAN_MS": str(model_ms), "OFFLINE_LATENCY_SPREAD_MS": "0"}
    cmd = [PY, "-m", "learninngest.offline_model", "--port", str(port), "--log-level", "warning"]
    proc = _spawn(cmd, env, work, work / f"model-{model_ms:g}.log")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(10)


# --- the profile
COMPONENTS = [  # first match wins, leaf to root: where a sample's time is spent
    ("SQLite", ("sqlite3",)),
    ("uvicorn + h11", ("uvicorn/", "/h11/", "httptools")),
    ("httpx", ("httpx/", "httpcore/", "anyio/", "/ssl.py")),
    ("pydantic", ("pydantic",)),
    ("LangChain + openai", ("langchain", "openai/", "langsmith")),
    ("inngest SDK", ("/inngest/",)),
    ("engine", ("learninngest/engine/",)),
    ("backend (api, worker, store, llm)", ("learninngest/",)),
    ("FastAPI/Starlette", ("starlette/", "fastapi/")),
    ("asyncio", ("asyncio/", "uvloop", "selectors.py")),
    ("threads", ("threading.py", "concurrent/futures")),
    ("logging", ("logging/",)),
    ("json", ("json/",)),
]


def fold(raw: Path) -> dict[str, dict[str, float]]:
    """py-spy raw (folded) samples to shares per process role and component."""
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in raw.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        role = "process"
        while frames and frames[0].startswith("process "):  # parent first, then the child
            role = "engine" if " engine" in frames[0] else "api"
            frames = frames[1:]
        component = "other"
        for frame in reversed(frames):
            hit = next((name for name, keys in COMPONENTS if any(k in frame for k in keys)), None)
            if hit:
                component = hit
                break
        counts[role][component] += int(number)
    return {
        role: {name: count / sum(counter.values()) for name, count in counter.most_common()}
        for role, counter in counts.items()
    }


def profile(system: System, concurrency: int, n: int, model_ms: float, out: Path) -> dict[str, Any]:
    py_spy = shutil.which("py-spy") or str(Path(PY).with_name("py-spy"))
    pids = [p.pid for p in system.procs]
    procs = [
        subprocess.Popen(
            [
                py_spy,
                "record",
                "--format",
                "raw",
                "--rate",
                "200",
                "--subprocesses",
                "--nonblocking",
                "-o",
                str(out.with_suffix(f".{pid}.txt")),
                "--pid",
                str(pid),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]
    time.sleep(1.0)
    asyncio.run(_load(system.url, concurrency, n, model_ms))
    for proc in procs:
        proc.send_signal(2)
    for proc in procs:
        proc.wait(30)
    merged = out.with_suffix(".txt")
    merged.write_text("".join(out.with_suffix(f".{pid}.txt").read_text() for pid in pids))
    return fold(merged)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model-ms", default="0", help="offline model latencies, e.g. 0,200")
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--systems", default="inline,celery,arq,learninngest")
    parser.add_argument("--before", type=Path, help="an older checkout, for learninngest-before")
    parser.add_argument("--profile", action="store_true", help="py-spy each system at the top concurrency")
    parser.add_argument("--profile-systems", help="only these systems (comma-separated) with --profile")
    parser.add_argument("--json", type=Path, help="write every figure here too")
    parser.add_argument("--profile-dir", type=Path, help="keep py-spy's raw profiles here")
    parser.add_argument(
        "--rss", type=int, metavar="N", help="only: RSS of each system idle, then after N requests at C=32"
    )
    args = parser.parse_args()
    if args.profile_dir:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
    # `kill` stops the bench as Ctrl-C does: every process it started is stopped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    latencies = [float(x) for x in args.model_ms.split(",")]
    levels = [int(x) for x in args.concurrency.split(",")]
    names = args.systems.split(",")
    results: dict[str, list[dict[str, float]]] = collections.defaultdict(list)
    profiles: dict[str, Any] = {}
    load_avg = os.getloadavg()
    if args.rss:
        return rss_growth(names, args.rss, latencies[0], args.before)
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        work = Path(tmp)
        with redis_server(work) as redis_url, contextlib.ExitStack() as models:
            urls = {ms: models.enter_context(offline_model(ms, work)) for ms in latencies}
            for round_ in range(args.rounds):
                for ms in latencies:
                    for name in names:
                        system = start_system(name, urls[ms], redis_url, work, args.before)
                        try:
                            for c in levels:
                                figures = measure(system, c, args.n, ms)
                                results[f"{name}|{ms:g}|{c}"].append(figures)
                                print(
                                    f"round {round_ + 1} {name} model {ms:g} ms C={c}: "
                                    + " ".join(f"{k}={v:.1f}" for k, v in figures.items()),
                                    flush=True,
                                )
                            chosen = not args.profile_systems or name in args.profile_systems.split(",")
                            if args.profile and chosen and round_ == 0 and ms == latencies[0]:
                                profiles[name] = profile(
                                    system,
                                    levels[-1],
                                    args.n,
                                    ms,
                                    (args.profile_dir or work) / f"{name}-prof",
                                )
                        finally:
                            system.stop()
    print(
        f"\nload average at start: {load_avg[0]:.1f} {load_avg[1]:.1f} {load_avg[2]:.1f}; "
        f"{args.rounds} interleaved rounds, N = {args.n}, medians\n"
    )
    print(table(results, names, latencies, levels))
    if profiles:
        print(f"\nprofile at C={levels[-1]} (share of samples by component):\n")
        for name, roles in profiles.items():
            for role, shares in roles.items():
                print(
                    f"- {name} [{role}]: " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items() if v >= 0.01)
                )
    if args.json:
        args.json.write_text(
            json.dumps({"results": results, "profiles": profiles, "load": load_avg}, indent=1)
        )
    return 0


def rss_growth(names: list[str], n: int, model_ms: float, before: Path | None) -> int:
    """RSS (MiB) of each system's processes: idle after start-up, then after n requests."""
    print("| system | process | idle MiB | after MiB | growth |\n| --- | --- | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        work = Path(tmp)
        with redis_server(work) as redis_url, offline_model(model_ms, work) as model_url:
            for name in names:
                system = start_system(name, model_url, redis_url, work, before)
                try:
                    time.sleep(2)
                    idle = _rss_by_role(system)
                    asyncio.run(_load(system.url, 32, n, model_ms))
                    time.sleep(2)
                    after = _rss_by_role(system)
                finally:
                    system.stop()
                for role in [*idle, "total"]:
                    first = sum(idle.values()) if role == "total" else idle[role]
                    last = sum(after.values()) if role == "total" else after[role]
                    print(f"| {name} | {role} | {first:.0f} | {last:.0f} | {last - first:+.0f} |", flush=True)
    return 0


def _rss_by_role(system: System) -> dict[str, float]:
    return {
        role: sum(p.memory_info().rss for p in procs) / 2**20
        for role, procs in system.processes().items()
        if procs
    }


def _ms(value: float | None) -> str:
    return "" if value is None or value != value else f"{value:.1f}"  # NaN: not measured


def table(
    results: dict[str, list[dict[str, float]]], names: list[str], latencies: list[float], levels: list[int]
) -> str:
    rows = [
        "| system | model ms | C | req/s | overhead p50 ms | p95 ms | CPU ms/req | api | engine/worker "
        "| broker (redis) | GETs/result | woken p50 / p95 ms | answered p50 ms | received p50 ms | failed |",
        "| --- " + "| ---: " * 14 + "|",
    ]
    for ms in latencies:
        for c in levels:
            for name in names:
                runs = results.get(f"{name}|{ms:g}|{c}")
                if not runs:
                    continue
                med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                rows.append(
                    f"| {name} | {ms:g} | {c} | {med['throughput']:.0f} | {med['p50']:.1f} "
                    f"| {med['p95']:.1f} | {med['cpu']:.1f} | {med['cpu_api']:.1f} | {med['cpu_engine']:.1f} "
                    f"| {_broker_ms(name, med)} | {med['gets']:.2f} "
                    f"| {_ms(med.get('woken_p50'))} / {_ms(med.get('woken_p95'))} "
                    f"| {_ms(med.get('answer_p50'))} | {_ms(med['wake_p50'])} "
                    f"| {sum(r['errors'] for r in runs):.0f} |"
                )
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
