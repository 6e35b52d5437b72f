"""Long-poll cost: N idle `?wait=` waiters on one pending request.

The backend runs in a child process (this script with `--serve`: `create_app` under the
kit's uvicorn config, SQLite store, plus a timer around each long-poll); this process
creates a pending record in the same SQLite file, opens N long-polls on it with `wait=W`,
and reports the backend's CPU while they wait (from /proc) and when they were answered,
seen by the client (`client_*`: includes this process's own lag with N connections) and
by the backend (`server_*`: from the request reaching the app to its answer). Nothing
finishes the request, so every waiter answers `pending` at its deadline. Loopback only,
bounded: N <= 2000, W <= 30, and the child is stopped at the end.

    python bench/long_poll_waiters.py --waiters 1000 --wait 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from learninngest.store import ChatRecord, open_store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def measure(url: str, pid: int, waiters: int, wait: float) -> dict[str, float]:
    limits = httpx.Limits(max_connections=waiters, max_keepalive_connections=0)
    answered: list[float] = []

    # Timed from the moment each request is sent to the moment its answer's head arrives, so
    # the bench's own start-up of 1,000 requests is not counted as the backend's lateness.
    async def sent(request: httpx.Request) -> None:
        request.extensions["sent_at"] = time.monotonic()

    async def received(response: httpx.Response) -> None:
        answered.append(time.monotonic() - response.request.extensions["sent_at"])

    hooks = {"request": [sent], "response": [received]}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=wait + 60, event_hooks=hooks) as client:

        async def one() -> tuple[float, str]:
            reply = await client.get("/api/v1/chat/result/bench", params={"wait": wait})
            return 0.0, str(reply.json().get("status", reply.status_code))

        cpu_before, started = cpu_seconds(pid), time.monotonic()
        answers = await asyncio.gather(*(one() for _ in range(waiters)))
        wall, cpu = time.monotonic() - started, cpu_seconds(pid) - cpu_before
    times = sorted(answered)
    statuses = {s for _, s in answers}
    return {
        "waiters": waiters,
        "wait_s": wait,
        "cpu_pct": 100 * cpu / wall,
        "client_first_s": times[0],
        "client_last_s": times[-1],
        "pending": sum(1 for _, s in answers if s == "pending"),
        "statuses": ",".join(sorted(statuses)),
    }


def serve(port: int, stats_path: str) -> None:
    """The child: the backend, with each long-poll's duration written to `stats_path` at exit."""
    import uvicorn

    from learninngest.app import create_app
    from learninngest.config import get_settings

    settings = get_settings(port=port)
    backend = create_app(settings)
    durations: list[float] = []

    async def timed(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or "/result/" not in scope["path"]:
            await backend(scope, receive, send)
            return
        started = time.monotonic()

        async def send_timed(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                durations.append(time.monotonic() - started)
            await send(message)

        await backend(scope, receive, send_timed)

    try:  # the kit's limits when this version has them (a "before" checkout may not)
        from learninngest.serving.limits import ServerLimits, uvicorn_config

        limits = ServerLimits.from_settings(settings)
        config = uvicorn_config(timed, host="127.0.0.1", port=port, limits=limits, log_level="warning")
    except ImportError:
        config = uvicorn.Config(timed, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)

    handle_exit = server.handle_exit

    def stop(sig: int, frame: Any) -> None:  # SIGTERM from the bench: save the durations first
        Path(stats_path).write_text(" ".join(f"{d:.3f}" for d in durations))
        handle_exit(sig, frame)

    server.handle_exit = stop  # type: ignore[method-assign]
    server.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiters", type=int, default=1000)
    parser.add_argument("--wait", type=float, default=30.0)
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--stats", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.stats)
        return
    if not 1 <= args.waiters <= 2000 or not 0 < args.wait <= 30:
        parser.error("--waiters must be 1..2000 and --wait 0..30")
    folder = Path(tempfile.mkdtemp(prefix="long-poll-bench-"))
    store_url = f"sqlite:///{folder}/results.db"
    asyncio.run(open_store(store_url).create(ChatRecord(request_id="bench", query="q")))
    port = free_port()
    env = os.environ | {
        "RESULT_STORE_URL": store_url,
        "INNGEST_BASE_URL": f"http://127.0.0.1:{free_port()}",  # nothing there: no run is started
        "LONG_POLL_MAX_WAITERS": str(args.waiters),
        "SERVER_LIMIT_CONCURRENCY": str(args.waiters + 100),
        "LOG_LEVEL": "WARNING",
    }
    stats = folder / "server-durations.txt"
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", str(port), "--stats", str(stats)]
    child = subprocess.Popen(command, env=env, cwd=folder)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or child.poll() is not None:
                    raise SystemExit("the backend did not start") from None
                time.sleep(0.1)
        row = asyncio.run(measure(url, child.pid, args.waiters, args.wait))
    finally:
        child.terminate()
        child.wait(15)
    server = sorted(float(d) for d in stats.read_text().split()) if stats.exists() else [float("nan")]
    row |= {"server_first_s": server[0], "server_last_s": server[-1]}
    print(" | ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
