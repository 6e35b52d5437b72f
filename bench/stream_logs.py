"""Memory of the stream channels' logs: bytes per request's log and per token, in one process.

Fills `--n` requests' logs as a worker's answer does (a status, `--tokens` tokens, done)
and counts with tracemalloc what stays once the temporaries are gone: once with no tokens
(per log = that ÷ n) and once with them (per token = the difference ÷ n ÷ tokens). The
in-process channel gets `publish`; the Realtime one gets the frames its socket delivers
(`_receive`, no server: what another process's run leaves in this process's view; its own
publishes leave the same events, filed before their echo).

`--before DIR` compares with another checkout (DIR/backend on PYTHONPATH): the two run as
child processes, interleaved, `--rounds` times each, and the medians are printed side by side.
tracemalloc's counts are exact, so the rounds agree unless the code differs.

    python bench/stream_logs.py [--n 2000] [--tokens 40] [--rounds 3] [--before DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tracemalloc
from pathlib import Path

KINDS = ("memory", "realtime")


def request_id(n: int) -> str:
    return f"01JF{n:022d}"  # the length of the backend's ULID request ids


def events(tokens: int) -> list[tuple[str, dict[str, object]]]:
    answer = [("token", {"text": f" word{t}", "attempt": 1}) for t in range(tokens)]
    return [("status", {"status": "running", "attempt": 1}), *answer, ("done", {"attempts": 1})]


async def fill(kind: str, n: int, tokens: int) -> int:
    """Bytes kept by `n` logs of `tokens` tokens each (the channel itself excluded)."""
    from learninngest.stream.base import EventType
    from learninngest.stream.memory import MemoryChannel
    from learninngest.stream.realtime import TOPIC, RealtimeChannel

    channel = MemoryChannel() if kind == "memory" else RealtimeChannel("http://127.0.0.1:1")
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    next_id = 1_733_000_000_000_000  # microseconds, as the Realtime publisher numbers them
    for r in range(n):
        rid = request_id(r)
        for type, data in events(tokens):
            # Fresh strings and dicts per event, as a model's tokens or a socket's frames are.
            data = json.loads(json.dumps(data))
            if isinstance(channel, MemoryChannel):
                await channel.publish(rid, EventType(type), data)
            else:
                next_id += 1
                body = {"request_id": rid, "events": [{"id": str(next_id), "type": type, "data": data}]}
                channel._receive(json.dumps({"kind": "data", "topic": TOPIC, "data": body}))
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    await channel.close()
    return kept


def measure(n: int, tokens: int) -> dict[str, tuple[float, float]]:
    """Per kind: (bytes per log, bytes per token), in this process."""
    tracemalloc.start()
    out = {}
    for kind in KINDS:
        empty = asyncio.run(fill(kind, n, 0))
        full = asyncio.run(fill(kind, n, tokens))
        out[kind] = (empty / n, (full - empty) / n / tokens)
    tracemalloc.stop()
    return out


def child(backend: Path | None, n: int, tokens: int) -> dict[str, tuple[float, float]]:
    env = dict(os.environ)
    if backend is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(backend), env.get("PYTHONPATH", "")])
    args = [sys.executable, __file__, "--n", str(n), "--tokens", str(tokens), "--json"]
    reply = subprocess.run(args, env=env, check=True, capture_output=True, text=True)
    return {kind: tuple(values) for kind, values in json.loads(reply.stdout).items()}  # type: ignore[misc]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="requests' logs per fill")
    parser.add_argument("--tokens", type=int, default=40, help="tokens per answer")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, help="a checkout to compare with (its backend/)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # a child's answer
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.n, args.tokens)))
        return 0
    sides: dict[str, Path | None] = {"this tree": None}
    if args.before is not None:
        sides = {"before": args.before.resolve() / "backend", **sides}
    rounds: dict[str, list[dict[str, tuple[float, float]]]] = {side: [] for side in sides}
    for _ in range(args.rounds):
        for side, backend in sides.items():
            rounds[side].append(child(backend, args.n, args.tokens))
    print(f"n={args.n} logs, {args.tokens} tokens each, medians of {args.rounds} rounds\n")
    print("| channel | side | bytes per log | bytes per token |")
    print("| --- | --- | ---: | ---: |")
    for kind in KINDS:
        for side in sides:
            per_log = statistics.median(r[kind][0] for r in rounds[side])
            per_token = statistics.median(r[kind][1] for r in rounds[side])
            print(f"| {kind} | {side} | {per_log:,.0f} | {per_token:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
