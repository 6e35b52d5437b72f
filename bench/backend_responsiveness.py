"""Backend responsiveness: does the API stay fast while slow LLM calls run in the background?

The usual version of this backend calls the LLM with a blocking client inside an async
worker, which freezes the event loop: every other request waits for the model. Here
the worker awaits the model (langchain's async call), so the API should answer as
fast with 32 slow calls in flight as when idle. Measured side by side, in one run:

- idle: GET /healthz and POST /api/v1/chat latency with nothing running;
- busy: the same while `--inflight` chat requests wait on an offline model answering
  in `--latency-ms` (the worker's concurrency is raised so they all run at once);
- reading results: GET requests per result with polling every 100 ms vs one long-poll.

Loopback only, bounded in count and time. Usage:
    python bench/backend_responsiveness.py [--inflight 32] [--latency-ms 1000] [--samples 50]
Prints a table; docs/performance.md ("Backend") keeps the figures of one run.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from learninngest.config import get_settings
from learninngest.kit import cells
from learninngest.kit.stack import Stack


def _latencies_ms(client: httpx.Client, method: str, path: str, samples: int, ids: list[str]) -> list[float]:
    """Time `samples` requests; the request ids of chat POSTs go into `ids`."""
    out = []
    for n in range(samples):
        started = time.perf_counter()
        if method == "GET":
            client.get(path).raise_for_status()
        else:
            reply = client.post(path, json={"query": f"sample {n}"})
            reply.raise_for_status()
            ids.append(reply.json()["request_id"])
        out.append((time.perf_counter() - started) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def _gets_per_result(stack: Stack, *, long_poll: bool, requests: int) -> float:
    counts = []
    for n in range(requests):
        request_id = cells.send(f"read {n}", stack=stack)["request_id"]
        count = 0
        while True:
            count += 1
            params = {"wait": 10} if long_poll else {}
            body = httpx.get(
                f"{stack.backend_url}/api/v1/chat/result/{request_id}", params=params, timeout=20
            ).json()
            if body["status"] != "pending":
                break
            time.sleep(0.1)
        counts.append(count)
    return statistics.mean(counts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inflight", type=int, default=32, help="slow chat requests in flight while busy")
    parser.add_argument("--latency-ms", type=float, default=3000.0, help="offline model latency")
    parser.add_argument("--samples", type=int, default=50, help="latency samples per measurement")
    parser.add_argument("--reads", type=int, default=5, help="results read per strategy")
    args = parser.parse_args()
    logging.getLogger("learninngest").setLevel(logging.ERROR)

    with tempfile.TemporaryDirectory() as folder:
        settings = get_settings(
            result_store_url=f"sqlite:///{Path(folder) / 'results.db'}",
            engine_db="memory",
            offline_latency_mean_ms=args.latency_ms,
            offline_latency_spread_ms=0,
            worker_concurrency=max(args.inflight, 1),
            log_level="ERROR",
        )
        stack = Stack(settings=settings).up()
        try:
            with httpx.Client(base_url=stack.backend_url, timeout=30) as client:
                idle_ids: list[str] = []
                rows = {
                    "idle": (
                        _latencies_ms(client, "GET", "/healthz", args.samples, idle_ids),
                        _latencies_ms(client, "POST", "/api/v1/chat", args.samples, idle_ids),
                    )
                }
                for request_id in idle_ids:  # back to idle before the busy phase
                    cells.wait_for_result(request_id, stack=stack, timeout=120)
                ids = [cells.send(f"slow {n}", stack=stack)["request_id"] for n in range(args.inflight)]
                time.sleep(0.2)  # the runs have started: their calls now wait on the model
                busy_ids: list[str] = []
                rows["busy"] = (
                    _latencies_ms(client, "GET", "/healthz", args.samples, busy_ids),
                    _latencies_ms(client, "POST", "/api/v1/chat", args.samples, busy_ids),
                )
                pending_after = sum(
                    client.get(f"/api/v1/chat/result/{i}").json()["status"] == "pending" for i in ids
                )
            polling = _gets_per_result(stack, long_poll=False, requests=args.reads)
            long_polling = _gets_per_result(stack, long_poll=True, requests=args.reads)
        finally:
            stack.down()

    print(f"offline model latency {args.latency_ms:.0f} ms; busy = {args.inflight} chat requests in flight")
    print(f"({pending_after} of them were still waiting on the model when the busy samples ended)\n")
    print("| state | GET /healthz p50 ms | p95 ms | POST /api/v1/chat p50 ms | p95 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for state, (health, post) in rows.items():
        cells_ms = [_p(health, 50), _p(health, 95), _p(post, 50), _p(post, 95)]
        print(f"| {state} | " + " | ".join(f"{value:.1f}" for value in cells_ms) + " |")
    idle_h, busy_h = statistics.median(rows["idle"][0]), statistics.median(rows["busy"][0])
    idle_p, busy_p = statistics.median(rows["idle"][1]), statistics.median(rows["busy"][1])
    print(f"\nbusy/idle median ratio: healthz {busy_h / idle_h:.2f}x, POST {busy_p / idle_p:.2f}x")
    print(f"GET requests per result: polling every 100 ms {polling:.1f}, long-poll {long_polling:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
