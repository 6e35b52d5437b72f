"""Memory of `learninngest up`: RSS of each process idle, after its first requests, and as requests add up.

`up` runs in its own process tree (the backend in the `up` process, the engine in its
child), the offline model in another process that is charged to nobody, and this script
reads every process of `up` from /proc: VmRSS (what `ps` shows), PSS and USS (from
smaps_rollup: USS = the process's private pages, PSS adds its share of the pages it shares,
e.g. the libraries) and the anonymous part of RSS (the heap: what requests can grow).

Checkpoints: `idle` (started and synced, no chat request yet), `first` (after one request:
what the first model call imports), `warm` (after --warm requests), then every --every
requests up to --n. Growth is read from `warm` (what grows per request) and from `idle`.
The requests are the pipeline bench's (POST /api/v1/chat, then GET …?wait=10) at a modest
concurrency; the model answers in --model-ms.

Configurations (`--configs`, comma-separated):
- default: what `up` does with no settings (SQLite engine state and result store in a fresh
  folder, default retentions, LLM_STREAM=true: tokens to the in-process stream channel);
- memory: memory engine and result store, LLM_STREAM=false (bench/pipeline.py's `learninngest`);
- memory-stream: the same with LLM_STREAM=true.
A `-before` suffix runs that configuration with the code of `--before DIR`.

Loopback only, bounded in count and time. Usage:
    python bench/memory.py [--configs default,memory] [--n 5000] [--concurrency 8] [--before DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import operator
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

PY = sys.executable
QUERY = "What is the capital of France?"
MIB = 2**20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Memory:
    """One process's memory, in bytes."""

    rss: int
    anon: int
    pss: int
    uss: int

    def __add__(self, other: Memory) -> Memory:
        return Memory(
            self.rss + other.rss, self.anon + other.anon, self.pss + other.pss, self.uss + other.uss
        )


def read_memory(pid: int) -> Memory:
    status = _fields(Path(f"/proc/{pid}/status"))
    rollup = _fields(Path(f"/proc/{pid}/smaps_rollup"))
    return Memory(
        rss=status["VmRSS"],
        anon=status["RssAnon"],
        pss=rollup["Pss"],
        uss=rollup["Private_Clean"] + rollup["Private_Dirty"],
    )


def _fields(path: Path) -> dict[str, int]:
    """`Name:   123 kB` lines to bytes."""
    out = {}
    for line in path.read_text().splitlines():
        name, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB":
            out[name.strip()] = int(parts[0]) * 1024
    return out


def children(pid: int) -> list[int]:
    """Every descendant of `pid` (from /proc/*/stat's parent field)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        out.extend(kids)
        todo.extend(kids)
    return out


def role(pid: int) -> str:
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return "engine" if b"engine" in args else "backend"


def snapshot(root: int) -> dict[str, Memory]:
    out: dict[str, Memory] = {}
    for pid in [root, *children(root)]:
        with contextlib.suppress(OSError, KeyError):
            name = role(pid)
            memory = read_memory(pid)
            out[name] = out[name] + memory if name in out else memory
    return out


@contextlib.contextmanager
def offline_model(model_ms: float, work: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "OFFLINE_LATENCY_MEAN_MS": str(model_ms), "OFFLINE_LATENCY_SPREAD_MS": "0"}
    cmd = [PY, "-m", "learninngest.offline_model", "--port", str(port), "--log-level", "warning"]
    with (work / "model.log").open("ab") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200, 30)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(10)


def _wait_until(check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, OSError):
            if check():  # type: ignore[operator]
                return
        time.sleep(0.1)
    raise RuntimeError(f"not ready in {timeout} s")


@contextlib.contextmanager
def up(
    config: str, model_url: str, work: Path, before: Path | None, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[int, str]]:
    """`learninngest up` in a folder of its own; yields (pid, backend URL) once it is synced."""
    folder = Path(tempfile.mkdtemp(prefix=f"{config}-", dir=work))
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LLM_", "RESULT_", "ENGINE_", "STREAM_", "OFFLINE_", "INNGEST_"))
    }
    env |= {"OFFLINE_MODEL_URL": model_url, "LLM_PROVIDER": "offline", "LOG_LEVEL": "WARNING"}
    parts = config.split("-")
    if "memory" in parts:
        env |= {"RESULT_STORE_URL": "memory://", "ENGINE_DB": "memory"}
        env["LLM_STREAM"] = "true" if "stream" in parts else "false"
    if "before" in parts:
        assert before is not None, "--before DIR is needed for a -before configuration"
        env["PYTHONPATH"] = str(before / "backend")
    env |= extra_env or {}
    cmd = [PY, "-m", "learninngest", "up", "--port", str(port), "--engine-port", str(free_port())]
    log_path = folder / "up.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while "Ctrl-C stops everything" not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"`up` did not start; its log:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield proc.pid, f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def one(client: httpx.AsyncClient) -> None:
    reply = await client.post("/api/v1/chat", json={"query": QUERY})
    reply.raise_for_status()
    url = reply.json()["result_url"]
    while True:
        body = (await client.get(url, params={"wait": 10})).raise_for_status().json()
        if body["status"] != "pending":
            break
    if body["status"] != "done":
        raise RuntimeError(f"request ended {body['status']}: {body.get('error')}")


async def load(url: str, n: int, concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        left = iter(range(n))

        async def worker() -> None:
            for _ in left:
                await one(client)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def settle(seconds: float) -> None:
    """Let the servers finish what the last requests left (logs, purges, closing connections)."""
    time.sleep(seconds)


def run(
    config: str, args: argparse.Namespace, model_url: str, work: Path
) -> list[tuple[str, dict[str, Memory]]]:
    points: list[tuple[str, dict[str, Memory]]] = []
    with up(config, model_url, work, args.before) as (pid, url):
        settle(args.settle)
        points.append(("idle", snapshot(pid)))
        started = time.perf_counter()
        asyncio.run(load(url, 1, 1))
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        asyncio.run(load(url, 1, 1))
        second_s = time.perf_counter() - started
        print(f"{config}: first request {first_s * 1000:.0f} ms, second {second_s * 1000:.0f} ms", flush=True)
        settle(args.settle)
        points.append(("first", snapshot(pid)))
        done = 2
        asyncio.run(load(url, args.warm - done, args.concurrency))
        done = args.warm
        settle(args.settle)
        points.append(("warm", snapshot(pid)))
        while done < args.n:
            step = min(args.every, args.n - done)
            asyncio.run(load(url, step, args.concurrency))
            done += step
            settle(args.settle)
            points.append((str(done), snapshot(pid)))
            print(f"{config}: {done} requests, {_line(points[-1][1])}", flush=True)
    return points


def _line(memory: dict[str, Memory]) -> str:
    return ", ".join(f"{name} {m.rss / MIB:.1f} MiB" for name, m in memory.items())


def _cells(m: Memory) -> str:
    return " | ".join(f"{value / MIB:.1f}" for value in (m.rss, m.anon, m.pss, m.uss))


def table(config: str, points: list[tuple[str, dict[str, Memory]]]) -> str:
    rows = [
        f"\n{config}: MiB (RSS / anonymous RSS / PSS / USS)",
        "| after | process | RSS | anon | PSS | USS |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, memory in points:
        for proc, m in memory.items():
            rows.append(f"| {name} | {proc} | {_cells(m)} |")
        total = functools.reduce(operator.add, memory.values())
        rows.append(f"| {name} | total | {_cells(total)} |")
    totals = {name: sum(m.rss for m in memory.values()) / MIB for name, memory in points}
    last = points[-1][0]
    rows.append(
        f"\nRSS growth after {last} requests: {totals[last] - totals['warm']:+.1f} MiB from warm, "
        f"{totals[last] - totals['idle']:+.1f} MiB from idle"
    )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="default,memory")
    parser.add_argument("--n", type=int, default=5000, help="requests in all")
    parser.add_argument("--warm", type=int, default=100, help="requests before the `warm` checkpoint")
    parser.add_argument("--every", type=int, default=1000, help="a checkpoint every this many requests")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--model-ms", type=float, default=0)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of quiet before a reading")
    parser.add_argument("--before", type=Path, help="an older checkout, for the -before configurations")
    args = parser.parse_args()
    load_avg = os.getloadavg()
    tables = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        work = Path(tmp)
        with offline_model(args.model_ms, work) as model_url:
            for config in args.configs.split(","):
                tables.append(table(config, run(config, args, model_url, work)))
    loads = " ".join(f"{value:.1f}" for value in load_avg)
    print(f"\nload average at start: {loads}; at the end: {os.getloadavg()[0]:.1f}; C={args.concurrency}")
    print("\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
