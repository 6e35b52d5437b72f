"""Two engine source trees side by side: runs/s of the same two-step function, in one run.

Each engine runs as its own process, `python -m learninngest engine`, with PYTHONPATH set to
the `backend/` folder of the tree it measures (ahead of the installed package, so the
engine code comes from that tree); the bench app (engine_throughput.py's two-step
function) runs in another process. The two trees are measured in interleaved rounds (A B,
then B A, ...) for every store and concurrency level, so a busy moment of the machine
hits both; the table gives the median of the rounds and the ratio B / A of the medians.
Events go 100 to a POST; `--one-per-post` sends each in a POST of its own, as the backend
does (one per chat request), so the event route's own cost counts in the CPU per run.
`--sends-only N` measures that route alone: engine CPU per POST of one event nothing
listens to, no app synced.

Loopback only, bounded in count and time. Usage (the flow-control comparison of
docs/performance.md):
    git worktree add /tmp/preflow b36abc8^1
    git worktree add /tmp/flowfix-b HEAD   # a frozen copy: edits made meanwhile stay out
    python bench/engine_compare.py --a /tmp/preflow/backend --b /tmp/flowfix-b/backend
    git worktree remove /tmp/preflow; git worktree remove /tmp/flowfix-b
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from learninngest.kit.servers import free_port
from learninngest.serving.child_process import stop_child

THROUGHPUT = Path(__file__).with_name("engine_throughput.py")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_up(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up at {url}")
        time.sleep(0.1)


def _tree_env(tree: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(Path(tree).resolve())}


def package_file(tree: str) -> str:
    """Where `import learninngest` resolves with that tree on PYTHONPATH (the header shows it)."""
    code = "import learninngest.engine.app as m; print(m.__file__)"
    out = subprocess.run([sys.executable, "-c", code], env=_tree_env(tree), capture_output=True, text=True)
    return out.stdout.strip() or out.stderr.strip()


@contextlib.contextmanager
def _stack(
    tree: str, concurrency: int, db_path: str | None, with_app: bool = True
) -> Iterator[tuple[str, int, str | None]]:
    """(engine URL, engine pid, bench app URL) with the app synced to the engine, or alone (None)."""
    port, app_port = free_port(), free_port()
    store = ["--db", db_path] if db_path else ["--memory"]
    # Alone, every event matches nothing, and the engine warns of each: its log is quiet.
    level = "WARNING" if with_app else "ERROR"
    cmd = [sys.executable, "-m", "learninngest", "engine", "--port", str(port), "--time-scale", "0.01"]
    cmd += ["--max-concurrency", str(concurrency), "--log-level", level, *store]
    cmd += ["--connect-gateway-port", "0"]  # the gateway on --port only: port + 1 may be taken
    engine = subprocess.Popen(cmd, env=_tree_env(tree), stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    app = None
    try:
        _wait_up(f"{url}/health", engine, "engine")
        if not with_app:
            yield url, engine.pid, None
            return
        app_cmd = [sys.executable, str(THROUGHPUT), "--serve-app", str(app_port), url, "0"]
        app = subprocess.Popen(app_cmd)
        _wait_up(f"http://127.0.0.1:{app_port}/api/inngest", app, "bench app")
        assert httpx.put(f"http://127.0.0.1:{app_port}/api/inngest", timeout=30).json().get("ok")
        yield url, engine.pid, f"http://127.0.0.1:{app_port}"
    finally:
        if app is not None:
            stop_child(app)
        stop_child(engine)


def _completed(http: httpx.Client) -> int:
    return int(http.get("/health").json()["runs"].get("Completed", 0))


def _returned(app: httpx.Client) -> int:
    return int(app.get("/bench/returned").json()["runs"])


def _send_and_wait(http: httpx.Client, app: httpx.Client, runs: int, time_limit: float, per_post: int) -> int:
    """Send `runs` events, then wait for their runs to complete; how many did in time.

    The wait polls the bench app (its CPU is not measured) until every run has made its last
    call, and only then the engine's /health, which answers once the last replies are
    recorded: polling the engine all along would add its answers to the engine's CPU.
    """
    already, already_returned = _completed(http), _returned(app)
    events = [{"name": "bench/two-steps", "data": {"i": i}} for i in range(runs)]
    for i in range(0, runs, per_post):
        http.post("/e/bench", json=events[i : i + per_post]).raise_for_status()
    deadline = time.perf_counter() + time_limit
    while time.perf_counter() < deadline and _returned(app) - already_returned < runs:
        time.sleep(0.02)
    done = 0
    while time.perf_counter() < deadline:
        done = _completed(http) - already
        if done >= runs:
            break
        time.sleep(0.005)
    return done


def _db_path(stack: contextlib.ExitStack, durable: bool) -> str | None:
    """A fresh SQLite file for a durable engine (removed with `stack`), None for memory."""
    if not durable:
        return None
    return str(Path(stack.enter_context(tempfile.TemporaryDirectory())) / "engine.db")


def measure(
    tree: str, concurrency: int, runs: int, durable: bool, time_limit: float, per_post: int = 100
) -> dict[str, float]:
    with contextlib.ExitStack() as stack:
        url, pid, app_url = stack.enter_context(_stack(tree, concurrency, _db_path(stack, durable)))
        http = stack.enter_context(httpx.Client(base_url=url, timeout=30))
        app = stack.enter_context(httpx.Client(base_url=str(app_url), timeout=30))
        _send_and_wait(http, app, 10, time_limit, per_post)  # warm-up: first calls, connections
        cpu, start = _cpu_seconds(pid), time.perf_counter()
        done = _send_and_wait(http, app, runs, time_limit, per_post)
        wall, cpu = time.perf_counter() - start, _cpu_seconds(pid) - cpu
    return {"runs": done, "runs_per_s": done / wall, "cpu_ms_per_run": cpu * 1000 / max(1, done)}


def measure_sends(tree: str, sends: int, durable: bool) -> dict[str, float]:
    """Engine CPU per POST /e/{key} of one event that starts nothing (no app): the event route."""
    with contextlib.ExitStack() as stack:
        url, pid, _ = stack.enter_context(_stack(tree, 1, _db_path(stack, durable), with_app=False))
        http = stack.enter_context(httpx.Client(base_url=url, timeout=30))
        for i in range(sends + 50):  # the first 50 warm up
            if i == 50:
                cpu = _cpu_seconds(pid)
            http.post("/e/bench", json={"name": "bench/nobody", "data": {"i": i}}).raise_for_status()
        cpu = _cpu_seconds(pid) - cpu
    return {"us_per_send": cpu * 1e6 / sends}


def compare_sends(trees: dict[str, str], stores: list[str], rounds: int, sends: int) -> None:
    results: dict[tuple[str, str], list[float]] = {}
    for r in range(rounds):
        order = ["A", "B"] if r % 2 == 0 else ["B", "A"]
        for store in stores:
            for name in order:
                us = measure_sends(trees[name], sends, store == "durable")["us_per_send"]
                results.setdefault((name, store), []).append(us)
                print(f"round {r + 1} {name} {store}: {us:.0f} us CPU per send", flush=True)
    print(f"\nPOST /e/{{key}} alone, one event per POST, {sends} sends, median of {rounds} rounds")
    print("| store | A us/send | B us/send | B / A |")
    print("| --- | ---: | ---: | ---: |")
    for store in stores:
        a, b = (statistics.median(results[(name, store)]) for name in trees)
        print(f"| {store} | {a:.0f} | {b:.0f} | {b / a:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="backend/ folder of the first tree (the baseline)")
    parser.add_argument("--b", default="backend", help="backend/ folder of the second tree")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=4, help="even: each tree goes first as often")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--stores", default="memory,durable")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per measurement")
    parser.add_argument(
        "--one-per-post",
        action="store_true",
        help="each run's event in a POST of its own, as the backend sends one per chat request "
        "(default: 100 events per POST)",
    )
    parser.add_argument(
        "--sends-only",
        type=int,
        default=0,
        metavar="N",
        help="instead of runs: engine CPU per POST /e/{key} over N sends of an event nothing "
        "listens to (no app; the event route alone)",
    )
    args = parser.parse_args()
    # A terminated bench still stops the engines and apps it started (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    trees = {"A": args.a, "B": args.b}
    for name, tree in trees.items():
        print(f"{name}: {tree} -> {package_file(tree)}")
    levels = [int(c) for c in args.concurrency.split(",")]
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if args.sends_only:
        compare_sends(trees, stores, args.rounds, args.sends_only)
        return
    per_post = 1 if args.one_per_post else 100
    results: dict[tuple[str, str, int], list[dict[str, float]]] = {}
    for r in range(args.rounds):
        order = ["A", "B"] if r % 2 == 0 else ["B", "A"]
        for store in stores:
            for c in levels:
                for name in order:
                    row = measure(trees[name], c, args.runs, store == "durable", args.time_limit, per_post)
                    results.setdefault((name, store, c), []).append(row)
                    print(f"round {r + 1} {name} {store} c={c}: {row['runs_per_s']:.1f} runs/s", flush=True)
    sends = "one event per POST" if per_post == 1 else f"{per_post} events per POST"
    print(f"\ntwo-step function, {args.runs} runs per measurement ({sends}), median of {args.rounds} rounds")
    print("| store | concurrency | A runs/s | B runs/s | B / A | A cpu ms/run | B cpu ms/run | B / A |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for store in stores:
        for c in levels:
            med: dict[str, Any] = {}
            for name in trees:
                rows = results[(name, store, c)]
                med[name] = {
                    k: statistics.median(row[k] for row in rows) for k in ("runs_per_s", "cpu_ms_per_run")
                }
            a, b = med["A"], med["B"]
            print(
                f"| {store} | {c} | {a['runs_per_s']:.1f} | {b['runs_per_s']:.1f} | "
                f"{b['runs_per_s'] / a['runs_per_s']:.2f} | {a['cpu_ms_per_run']:.2f} | "
                f"{b['cpu_ms_per_run']:.2f} | {b['cpu_ms_per_run'] / a['cpu_ms_per_run']:.2f} |"
            )


if __name__ == "__main__":
    main()
