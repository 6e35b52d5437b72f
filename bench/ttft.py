"""Time to first token and total time: polling vs long-poll vs SSE streaming, side by side.

One stack in this process (`Stack`: backend with the offline model mounted, local engine
in memory, SQLite results), the offline model taking `--latency-ms` per answer, spread
over its tokens when streamed. Each round sends one request per mode, one after the
other (the modes interleave, so a busy machine weighs on all of them alike), and times
from just before the POST:

- polling: GET /result every `--poll-ms` until final; first token = total (the text
  comes all at once);
- long-poll: GET /result?wait=30 until final; first token = total;
- stream: GET /stream; first token = the first `token` event, total = `done`.

It also counts the HTTP requests each mode needed per answer. Loopback only, bounded.
    python bench/ttft.py [--rounds 10] [--latency-ms 2000] [--poll-ms 250]
Prints a table; docs/performance.md ("Time to first token") keeps the figures of one run.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from learninngest.config import get_settings
from learninngest.kit.stack import Stack
from learninngest.stream.sse import parse

QUESTION = "What is the capital of France?"
Timing = tuple[float, float, int]  # first token s, total s, HTTP requests


def post(client: httpx.Client) -> str:
    reply = client.post("/api/v1/chat", json={"query": QUESTION})
    reply.raise_for_status()
    return str(reply.json()["request_id"])


def by_polling(client: httpx.Client, poll_s: float) -> Timing:
    started = time.perf_counter()
    request_id, calls = post(client), 1
    while True:
        calls += 1
        record = client.get(f"/api/v1/chat/result/{request_id}").json()
        if record["status"] != "pending":
            total = time.perf_counter() - started
            return total, total, calls
        time.sleep(poll_s)


def by_long_poll(client: httpx.Client) -> Timing:
    started = time.perf_counter()
    request_id, calls = post(client), 1
    while True:
        calls += 1
        record = client.get(f"/api/v1/chat/result/{request_id}", params={"wait": 30}, timeout=40).json()
        if record["status"] != "pending":
            total = time.perf_counter() - started
            return total, total, calls


def by_stream(client: httpx.Client) -> Timing:
    started = time.perf_counter()
    request_id = post(client)
    first = None
    with client.stream("GET", f"/api/v1/chat/{request_id}/stream", timeout=60) as reply:
        for message in parse(reply.iter_lines()):
            if message.event == "token" and first is None:
                first = time.perf_counter() - started
            if message.event in {"done", "error"}:
                break
    total = time.perf_counter() - started
    return first if first is not None else total, total, 2


def summary(name: str, timings: list[Timing]) -> str:
    firsts = sorted(t[0] for t in timings)
    totals = sorted(t[1] for t in timings)

    def p95(values: list[float]) -> float:
        return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]

    calls = statistics.mean(t[2] for t in timings)
    return (
        f"| {name} | {statistics.median(firsts):.2f} | {p95(firsts):.2f} | "
        f"{statistics.median(totals):.2f} | {p95(totals):.2f} | {calls:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=10, help="requests per mode (<= 100)")
    parser.add_argument("--latency-ms", type=float, default=2000.0, help="the offline model's answer time")
    parser.add_argument("--poll-ms", type=float, default=250.0, help="polling interval")
    args = parser.parse_args()
    rounds = max(1, min(args.rounds, 100))
    logging.getLogger("learninngest").setLevel(logging.ERROR)
    folder = Path(tempfile.mkdtemp(prefix="bench-ttft-"))
    settings = get_settings(
        engine_db="memory",
        result_store_url=f"sqlite:///{folder / 'results.db'}",
        offline_latency_mean_ms=args.latency_ms,
        offline_latency_spread_ms=0,
        log_level="ERROR",
    )
    stack = Stack(settings=settings).up()
    modes: dict[str, Callable[[httpx.Client], Timing]] = {
        f"polling every {args.poll_ms:g} ms": lambda c: by_polling(c, args.poll_ms / 1000),
        "long-poll (?wait=30)": by_long_poll,
        "stream (SSE)": by_stream,
    }
    results: dict[str, list[Timing]] = {name: [] for name in modes}
    try:
        with httpx.Client(base_url=stack.backend_url, timeout=30) as client:
            by_stream(client)  # warm-up: imports, first connections
            for _ in range(rounds):
                for name, measure in modes.items():
                    results[name].append(measure(client))
    finally:
        stack.down()
    print(f"{rounds} requests per mode, the model answering in {args.latency_ms:g} ms\n")
    print("| mode | first token p50 s | p95 s | total p50 s | p95 s | HTTP requests per answer |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, timings in results.items():
        print(summary(name, timings))


if __name__ == "__main__":
    main()
