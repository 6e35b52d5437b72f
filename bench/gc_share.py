"""The cyclic collector's share of each process's CPU in `learninngest up`, by young threshold.

A profile by function does not show the collector: it runs inside whatever allocation
triggers it. This bench puts a probe in each process of `up` (a `sitecustomize` on
PYTHONPATH): `gc.callbacks` time every collection with the thread's CPU clock, count them by
generation, and pin the youngest generation's threshold to the one measured (the probe
re-applies it after the kit's own `serving/gc_freeze.enable()`), so thresholds compare in
one tree, interleaved round by round. Per threshold and process (`api`, `engine`): the
collector's share of the process's CPU during the load, the collections by generation, and
their median and longest pause.

Loopback only, offline model at 0 ms in its own process, memory stores, no streaming.
    python bench/gc_share.py [--young 700,2000] [--n 2000] [--concurrency 32] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pipeline import System, _load, offline_model, start_system

# Runs in every process of the system (PYTHONPATH): records each collection, writes the
# totals to GC_PROBE_DIR/<pid>.json twice a second (the bench reads them before and after).
PROBE = """
import gc, json, os, threading, time
_young = int(os.environ["GC_PROBE_YOUNG"])
_dir = os.environ["GC_PROBE_DIR"]
_stats = {"role": "engine" if "engine" in __import__("sys").argv[1:] else "api",
          "seconds": [0.0, 0.0, 0.0], "count": [0, 0, 0], "pauses": [[], [], []]}
_start = [0.0]

def _callback(phase, info):
    if phase == "start":
        _start[0] = time.thread_time()
        return
    spent = time.thread_time() - _start[0]
    gen = info["generation"]
    _stats["seconds"][gen] += spent
    _stats["count"][gen] += 1
    _stats["pauses"][gen].append(spent)
    if gc.get_threshold()[0] != _young:
        gc.set_threshold(_young, *gc.get_threshold()[1:])

def _writer():
    while True:
        time.sleep(0.5)
        path = os.path.join(_dir, f"{os.getpid()}.json")
        with open(path + ".tmp", "w") as out:
            json.dump(_stats, out)
        os.replace(path + ".tmp", path)

gc.set_threshold(_young, *gc.get_threshold()[1:])
gc.callbacks.append(_callback)
threading.Thread(target=_writer, daemon=True).start()
"""


def _read(probe_dir: Path) -> dict[int, dict]:
    out = {}
    for path in probe_dir.glob("*.json"):
        out[int(path.stem)] = json.loads(path.read_text())
    return out


def _measure(young: int, n: int, concurrency: int, model_url: str, work: Path) -> dict[str, dict]:
    probe_dir = Path(tempfile.mkdtemp(prefix=f"gc-{young}-", dir=work))
    (probe_dir / "sitecustomize.py").write_text(PROBE)
    os.environ.update(
        {"PYTHONPATH": str(probe_dir), "GC_PROBE_YOUNG": str(young), "GC_PROBE_DIR": str(probe_dir)}
    )
    system = start_system("learninngest", model_url, "redis://127.0.0.1:1/0", work, None)
    try:
        asyncio.run(_load(system.url, concurrency, 100, 0))  # warm-up: LangChain loaded, frozen
        time.sleep(1)
        before, cpu_before = _read(probe_dir), _cpu_by_pid(system)
        asyncio.run(_load(system.url, concurrency, n, 0))
        time.sleep(1)
        after, cpu_after = _read(probe_dir), _cpu_by_pid(system)
    finally:
        system.stop()
    roles: dict[str, dict] = {}
    for pid, stats in after.items():
        if pid not in cpu_after or pid not in before:
            continue
        old = before[pid]
        row = roles.setdefault(
            stats["role"], {"gc_s": 0.0, "cpu_s": 0.0, "count": [0, 0, 0], "pauses": [[], [], []]}
        )
        row["cpu_s"] += cpu_after[pid] - cpu_before[pid]
        for gen in range(3):
            row["gc_s"] += stats["seconds"][gen] - old["seconds"][gen]
            row["count"][gen] += stats["count"][gen] - old["count"][gen]
            row["pauses"][gen] += stats["pauses"][gen][len(old["pauses"][gen]) :]
    return roles


def _cpu_by_pid(system: System) -> dict[int, float]:
    out = {}
    for procs in system.processes().values():
        for proc in procs:
            times = proc.cpu_times()
            out[proc.pid] = times.user + times.system
    return out


def _pause(values: list[float], pick: str) -> str:
    if not values:
        return "–"
    return f"{(statistics.median(values) if pick == 'p50' else max(values)) * 1000:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--young", default="700,2000", help="young-generation thresholds to compare")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    thresholds = [int(x) for x in args.young.split(",")]
    load = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-gc-") as tmp:
        work = Path(tmp)
        with offline_model(0, work) as model_url:
            for round_ in range(args.rounds):
                for young in thresholds:
                    for role, r in sorted(_measure(young, args.n, args.concurrency, model_url, work).items()):
                        rows.append((round_ + 1, young, role, r))
                        print(
                            f"round {round_ + 1} young {young} {role}: {r['gc_s'] / r['cpu_s']:.1%}",
                            flush=True,
                        )
    print(
        f"\nload average at start {load[0]:.1f}; N = {args.n}, C = {args.concurrency}, "
        "after 100 to warm up\n\n"
        "| round | young threshold | process | collector share of CPU | CPU ms/req "
        "| collections (young / middle / full) "
        "| young p50 / max ms | middle p50 / max ms | full p50 / max ms |\n"
        "| ---: | ---: | --- | ---: | ---: | --- | --- | --- | --- |"
    )
    for round_, young, role, r in rows:
        pauses = " | ".join(
            f"{_pause(r['pauses'][g], 'p50')} / {_pause(r['pauses'][g], 'max')}" for g in range(3)
        )
        share, cpu_ms = r["gc_s"] / r["cpu_s"], r["cpu_s"] * 1000 / args.n
        print(
            f"| {round_} | {young} | {role} | {share:.1%} | {cpu_ms:.2f} "
            f"| {' / '.join(str(c) for c in r['count'])} | {pauses} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
