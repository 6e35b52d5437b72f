"""The backend's CPU by the kind of request it serves, in the running `learninngest up`.

A py-spy profile gives shares of a process, and an operation timed alone in a loop runs hot
(its code and data in the caches). This bench measures what each of the backend's requests
costs where it runs: a probe (a `sitecustomize` on PYTHONPATH) wraps the backend's ASGI app
and adds up the serving thread's CPU clock (`time.thread_time`) over each request's span, by
kind: the client's POST /api/v1/chat (with its event send), the engine's calls to
/api/inngest (sorted by CPU and cut in thirds: the largest third is the call that runs the
LLM step), and the client's GET of the result. At C = 1 the POST and the calls follow one
another; the GET waits across the calls, so its span overlaps theirs and is not added.
Beside it: the serving thread's whole CPU per request and the process's (all threads).
A span holds whatever else the loop ran meanwhile, so the split means something at C = 1
only; at higher concurrency the spans overlap and only the totals are comparable.

The probe's `sitecustomize` hides any other one on the path for the processes it runs in
(as bench/gc_share.py's). Loopback only, offline model at 0 ms in its own process, memory
stores, no streaming.
    python bench/cpu_by_request.py [--n 400] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from pipeline import System, _load, offline_model, start_system

PROBE_PATH = "/__cpu_by_request"

# Runs in every process of the system: wraps the backend's app (the one with result waiters,
# outside the kit's server layers) when uvicorn's Config is built for it; the engine's app
# is left alone.
PROBE = """
import collections, json, time
import uvicorn.config

_PATH = %(path)r
_init = uvicorn.config.Config.__init__


class _Probe:
    def __init__(self, app):
        self.app = app
        self.reset()

    def reset(self):
        self.cpu = collections.Counter()
        self.count = collections.Counter()
        self.calls = []
        self.start = time.thread_time()

    def __getattr__(self, name):
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == _PATH:
            if scope.get("query_string") == b"reset=1":
                self.reset()
            body = json.dumps({"thread": time.thread_time() - self.start, "cpu": self.cpu,
                               "count": self.count, "calls": self.calls}).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        kind = "call" if scope["path"].startswith("/api/inngest") else scope["method"]
        began = time.thread_time()
        try:
            await self.app(scope, receive, send)
        finally:
            spent = time.thread_time() - began
            self.cpu[kind] += spent
            self.count[kind] += 1
            if kind == "call":
                self.calls.append(spent)


def _is_backend(app):
    for _ in range(5):  # the kit's server layers (serving/limits.py) wrap the app itself
        if hasattr(getattr(app, "state", None), "waiters"):
            return True
        app = getattr(app, "app", None)
    return False


def _wrapping_init(self, app, *args, **kwargs):
    if _is_backend(app):
        app = _Probe(app)
    _init(self, app, *args, **kwargs)


uvicorn.config.Config.__init__ = _wrapping_init
"""


def _read(url: str, reset: bool = False) -> dict[str, Any]:
    return httpx.get(f"{url}{PROBE_PATH}", params={"reset": "1"} if reset else None, timeout=10).json()


def measure(url: str, system: System, concurrency: int, n: int) -> dict[str, float]:
    asyncio.run(_load(url, concurrency, min(n, 50), 0))  # warm-up
    _read(url, reset=True)
    before = system.cpu()
    load = asyncio.run(_load(url, concurrency, n, 0))
    after = system.cpu()
    probe = _read(url)
    if load.errors:
        print(f"{len(load.errors)} failed, first: {load.errors[0]}", flush=True)
    calls = sorted(probe["calls"])
    third = len(calls) // 3
    out = {
        "backend process": (after["api"] - before["api"]) * 1000 / n,
        "engine process": (after["engine/worker"] - before["engine/worker"]) * 1000 / n,
        "serving thread": probe["thread"] * 1000 / n,
        "POST /api/v1/chat": probe["cpu"].get("POST", 0.0) * 1000 / n,
        "calls, all": probe["cpu"].get("call", 0.0) * 1000 / n,
        "GET (overlaps the calls)": probe["cpu"].get("GET", 0.0) * 1000 / n,
    }
    for index, name in enumerate(("calls, cheapest third", "calls, middle third", "calls, dearest third")):
        part = calls[index * third : (index + 1) * third if index < 2 else None]  # the rest: dearest
        out[name + " (each)"] = statistics.mean(part) * 1000 if part else float("nan")
    out["calls per request"] = probe["count"].get("call", 0) / n
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=1, help="the split is meaningful at 1 only")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cpu-by-request-"))
    probe_dir = work / "probe"
    probe_dir.mkdir()
    (probe_dir / "sitecustomize.py").write_text(PROBE % {"path": PROBE_PATH})
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(probe_dir), os.environ.get("PYTHONPATH")]))
    rounds: list[dict[str, float]] = []
    with offline_model(0, work) as model_url:
        for index in range(args.rounds):
            system = start_system("learninngest", model_url, "redis://127.0.0.1:1/0", work, None)
            try:
                figures = measure(system.url, system, args.concurrency, args.n)
            finally:
                system.stop()
            rounded = {k: round(v, 3) for k, v in figures.items()}
            print(f"round {index + 1}: {json.dumps(rounded)}", flush=True)
            rounds.append(figures)
    print(f"\nC = {args.concurrency}, N = {args.n}, {args.rounds} rounds (median), ms of CPU per request:")
    print("| what | ms |\n| --- | ---: |")
    for key in rounds[0]:
        print(f"| {key} | {statistics.median(r[key] for r in rounds):.2f} |")


if __name__ == "__main__":
    sys.exit(main())
