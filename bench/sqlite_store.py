"""SQLite result store: a connection per operation (before) vs one kept per thread (after).

Both run in this process, in interleaved rounds, on files of their own in a temporary
folder: "before" is SQLiteStore with its old plumbing (open, set the busy timeout, run,
close, for every operation; writers wait on SQLite's busy handler), "after" is the store
as it is (a connection kept per thread, on its own threads, writes queued for its one
writer). Each request does what one chat request does to the store on the backend's side:
create, set_event_ids,
count_attempt, finish, and two gets (the long-poll's read and the client's). Measured
sequentially (C=1) and with C requests in flight at once; reports operations per second,
wall and CPU µs per operation (this process's CPU: the event loop plus the worker threads),
medians over rounds, and after ÷ before.

    python bench/sqlite_store.py --requests 2000 --rounds 5 --concurrency 1,32
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from learninngest.store import ChatRecord, Status, StoreUnavailable
from learninngest.store.sqlite import SQLiteStore

T = TypeVar("T")
OPS_PER_REQUEST = 6


class PerOperationStore(SQLiteStore):
    """The store's plumbing before: a new connection for every operation, each in a thread of
    the loop's default executor, writers meeting on SQLite's busy handler."""

    async def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._call, operation)

    async def _write(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._call, operation)

    def _call(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        try:
            self._initialise()
            conn = self._connect()
            try:
                return operation(conn)
            finally:
                conn.close()
        except (sqlite3.OperationalError, OSError) as exc:
            raise StoreUnavailable(f"result store {self.url} cannot be used: {exc}") from exc


async def one_request(store: SQLiteStore, request_id: str) -> None:
    await store.create(ChatRecord(request_id=request_id, query="What is the capital of France?"))
    await store.set_event_ids(request_id, [f"evt-{request_id}"])
    await store.count_attempt(request_id)
    await store.get(request_id)
    await store.finish(request_id, status=Status.done, content="Paris", model="m", usage={"total_tokens": 9})
    await store.get(request_id)


async def drive(store: SQLiteStore, prefix: str, requests: int, concurrency: int) -> tuple[float, float]:
    """(wall s, CPU s) for `requests` requests, `concurrency` at a time."""
    ids = iter(range(requests))

    async def worker() -> None:
        for n in ids:
            await one_request(store, f"{prefix}-{n}")

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", default="1,32")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    figures: dict[tuple[str, int], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as tmp:
        stores = {
            "before": PerOperationStore(f"sqlite:///{Path(tmp) / 'before.db'}"),
            "after": SQLiteStore(f"sqlite:///{Path(tmp) / 'after.db'}"),
        }

        async def run() -> None:
            for store in stores.values():
                await drive(store, "warm-up", 50, 4)
            for round_ in range(args.rounds):
                for c in levels:
                    for name, store in stores.items():
                        wall, cpu = await drive(store, f"r{round_}c{c}", args.requests, c)
                        ops = args.requests * OPS_PER_REQUEST
                        figures.setdefault((name, c), []).append((ops / wall, cpu * 1e6 / ops))
            for store in stores.values():
                await store.close()

        load = os.getloadavg()
        asyncio.run(run())
    print(
        f"load average at start {load[0]:.1f}; {args.rounds} interleaved rounds of {args.requests} "
        f"requests ({OPS_PER_REQUEST} operations each), medians\n"
    )
    print("| store plumbing | C | ops/s | wall µs/op | CPU µs/op |\n| --- | ---: | ---: | ---: | ---: |")
    medians: dict[tuple[str, int], tuple[float, float]] = {}
    for c in levels:
        for name in ("before", "after"):
            runs = figures[(name, c)]
            rate = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            medians[(name, c)] = (rate, cpu)
            print(f"| {name} | {c} | {rate:.0f} | {1e6 / rate:.0f} | {cpu:.0f} |")
    print()
    for c in levels:
        (rate0, cpu0), (rate1, cpu1) = medians[("before", c)], medians[("after", c)]
        print(f"C={c}: after ÷ before: ops/s {rate1 / rate0:.2f}×, CPU per op {cpu1 / cpu0:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
