"""Streaming's price: the CPU of `learninngest up` per request and per token, streamed or not.

Variants, each in a fresh `up` (memory engine and store, or `-redis`: the Redis store and
stream channel), the offline model in its own process, charged to nobody:
- plain: LLM_STREAM=false (one `ainvoke`; the whole text goes to the channel as one event);
- each: LLM_STREAM=true, STREAM_FLUSH_MS=0 (an event per token, as before batching);
- batched: LLM_STREAM=true, STREAM_FLUSH_MS=50 (the default).
Each request POSTs, then with --follow reads GET …/stream until `done` (a reader per
request, as the chat page does), else long-polls GET …/result?wait=10. The model takes
--model-ms per answer, spread over its tokens when streamed (as a real model paces them).

Per variant (medians over interleaved rounds): CPU ms per request of `up`'s processes,
token events and tokens per request, and the price per token: (CPU − plain's CPU) ÷ tokens.
`--llm-only` measures the LLM call alone, in this process: `complete()` against the offline
model with and without streaming (tokens handed to a no-op), for a short answer (`clean`,
~7 tokens) and a longer one (~46): the slope is LangChain's and openai's price per token.

Loopback only, bounded. Usage:
    python bench/stream_price.py [--n 150] [--rounds 3] [--concurrency 8] [--model-ms 500]
        [--variants plain,each,batched] [--follow] [--redis]
    python bench/stream_price.py --llm-only [--n 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from memory import children, free_port, offline_model, up

from learninngest.stream.sse import parse

QUERY = "What is the capital of France?"
VARIANTS = {
    "plain": {"LLM_STREAM": "false"},
    "each": {"LLM_STREAM": "true", "STREAM_FLUSH_MS": "0"},
    "batched": {"LLM_STREAM": "true", "STREAM_FLUSH_MS": "50"},
}
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(root: int) -> float:
    total = 0.0
    for pid in [root, *children(root)]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return total


async def one(client: httpx.AsyncClient, follow: bool, counts: list[tuple[int, int]]) -> None:
    reply = await client.post("/api/v1/chat", json={"query": QUERY, "clean": False})
    reply.raise_for_status()
    body = reply.json()
    if follow:
        events = 0
        async with client.stream("GET", f"/api/v1/chat/{body['request_id']}/stream") as stream:
            lines: list[str] = []
            last = False
            async for line in stream.aiter_lines():
                lines.append(line)
                last = last or line in ("event: done", "event: error")
                if last and line == "":
                    break  # the end of the last event
        messages = list(parse([*lines, ""]))
        events = sum(1 for m in messages if m.event == "token")
        done = [m for m in messages if m.event == "done"]
        assert done, "the stream ended without `done`"
    while True:
        result = (await client.get(body["result_url"], params={"wait": 10})).raise_for_status().json()
        if result["status"] != "pending":
            break
    if result["status"] != "done":
        raise RuntimeError(f"request ended {result['status']}: {result.get('error')}")
    if follow and done[0].data and "content" in done[0].data:
        attempt = done[0].data.get("attempts", 1)  # a retried step: the last attempt's text counts
        text = "".join(
            str(m.data["text"])
            for m in messages
            if m.event == "token" and m.data and m.data["attempt"] == attempt
        )
        assert text == result["content"], f"streamed {text!r} but stored {result['content']!r}: {messages}"
    counts.append((events if follow else 0, int(result["usage"]["completion_tokens"])))


async def load(url: str, n: int, concurrency: int, follow: bool) -> list[tuple[int, int]]:
    counts: list[tuple[int, int]] = []
    limits = httpx.Limits(max_connections=concurrency * 3, max_keepalive_connections=concurrency * 3)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        left = iter(range(n))

        async def worker() -> None:
            for _ in left:
                await one(client, follow, counts)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return counts


@contextlib.contextmanager
def redis_server(work: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is needed for --redis")
    port = free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def llm_only(n: int) -> int:
    from learninngest.config import get_settings
    from learninngest.llm.complete import complete
    from learninngest.llm.models import pooled_models

    async def calls(url: str, stream: bool, clean: bool) -> tuple[float, int]:
        settings = get_settings(offline_model_url=url, llm_provider="offline", llm_stream=stream)
        ask: dict[str, object] = {"query": QUERY, "temperature": 0.2, "max_tokens": 256, "clean": clean}

        async def on_token(_text: str) -> None:
            pass

        async with pooled_models():
            for _ in range(20):  # warm-up: the model pool's connection
                await complete(settings, **ask, on_token=on_token)  # type: ignore[arg-type]
            started = time.process_time()
            for _ in range(n):
                done = await complete(settings, **ask, on_token=on_token)  # type: ignore[arg-type]
        return (time.process_time() - started) * 1000 / n, done.usage["completion_tokens"]

    print("| answer | tokens | ainvoke ms CPU | astream ms CPU | streaming's extra ms | per token µs |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp, offline_model(0, Path(tmp)) as url:
        for clean in (True, False):
            plain = statistics.median(asyncio.run(calls(url, False, clean))[0] for _ in range(3))
            runs = [asyncio.run(calls(url, True, clean)) for _ in range(3)]
            streamed, tokens = statistics.median(r[0] for r in runs), runs[0][1]
            extra = streamed - plain
            print(
                f"| {'short' if clean else 'long'} | {tokens} | {plain:.2f} | {streamed:.2f} "
                f"| {extra:.2f} | {extra * 1000 / tokens:.0f} |"
            )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=150, help="requests per variant and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--model-ms", type=float, default=500)
    parser.add_argument("--variants", default="plain,each,batched")
    parser.add_argument("--follow", action="store_true", help="a stream reader per request")
    parser.add_argument("--redis", action="store_true", help="the Redis store and channel")
    parser.add_argument("--llm-only", action="store_true", help="the LLM call alone, in this process")
    args = parser.parse_args()
    if args.llm_only:
        return llm_only(args.n)
    load_avg = os.getloadavg()
    names = args.variants.split(",")
    figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        work = Path(tmp)
        with contextlib.ExitStack() as stack:
            model_url = stack.enter_context(offline_model(args.model_ms, work))
            store = {"RESULT_STORE_URL": "memory://"}
            if args.redis:
                store = {"RESULT_STORE_URL": stack.enter_context(redis_server(work))}
            for round_ in range(args.rounds):
                for name in names:
                    env = {**VARIANTS[name], **store, "ENGINE_DB": "memory", "OFFLINE_LATENCY_SPREAD_MS": "0"}
                    with up(name, model_url, work, None, env) as (pid, url):
                        asyncio.run(load(url, 20, args.concurrency, args.follow))  # warm-up
                        before = cpu_seconds(pid)
                        counts = asyncio.run(load(url, args.n, args.concurrency, args.follow))
                        cpu_ms = (cpu_seconds(pid) - before) * 1000 / args.n
                    events = statistics.mean(c[0] for c in counts)
                    tokens = statistics.mean(c[1] for c in counts)
                    figures[name].append((cpu_ms, events, tokens))
                    print(
                        f"round {round_ + 1} {name}: {cpu_ms:.2f} ms CPU/request, "
                        f"{events:.1f} token events, {tokens:.1f} tokens",
                        flush=True,
                    )
    loads = " ".join(f"{value:.1f}" for value in load_avg)
    kind = "Redis" if args.redis else "memory"
    print(
        f"\nload average at start: {loads}, at the end: {os.getloadavg()[0]:.1f}; {kind} store and channel; "
        f"model {args.model_ms:g} ms; C={args.concurrency}; N={args.n}; {args.rounds} rounds; "
        f"{'a stream reader per request' if args.follow else 'no stream reader'}\n"
    )
    print("| variant | CPU ms/request | token events/request | tokens/request | price per token µs |")
    print("| --- | ---: | ---: | ---: | ---: |")
    plain = statistics.median(f[0] for f in figures["plain"]) if "plain" in figures else None
    for name in names:
        cpu = statistics.median(f[0] for f in figures[name])
        events = statistics.median(f[1] for f in figures[name])
        tokens = statistics.median(f[2] for f in figures[name])
        price = "–" if plain is None or name == "plain" else f"{(cpu - plain) * 1000 / tokens:.0f}"
        print(f"| {name} | {cpu:.2f} | {events:.1f} | {tokens:.1f} | {price} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
