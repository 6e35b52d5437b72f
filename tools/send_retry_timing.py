"""Where the 1 s budget of inngest-py's `test_client_send_retry` (timeout variant) goes.

    sh -c 'cd TREE && .venv/bin/python /path/to/kit/tools/send_retry_timing.py http://127.0.0.1:PORT [N]'

Run with the inngest-py tree's venv (made by tools/inngest_py_suite.sh) against a running
engine (`learninngest engine --memory --port PORT`). It repeats the test's scheme N times
(default 12), half with `send_sync`, half with `send`: the test's one-threaded proxy
forwards each attempt to the server with a new httpx client, sleeps 2 s through the first,
and the SDK (1 s timeout) tries again. Per send it prints when each attempt reached the
proxy (ms after the first), each forward's time, and the server's share of it, so a third
attempt can be put down to the server or to the proxy. See docs/engine.md, *The Python
SDK's own suite*.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

import httpx
import inngest
from test_core import http_proxy


def send_once(engine: str, is_sync: bool) -> tuple[int, list[int], list[float], list[float]]:
    marks: list[tuple[float, float, float]] = []  # arrival, forward, server round trip

    def on_request(
        body: bytes | None, headers: dict[str, list[str]], method: str, path: str
    ) -> http_proxy.Response:
        start = time.perf_counter()
        client = httpx.Client()  # as the test's httpx.request does, per request
        sent = time.perf_counter()
        resp = client.request(
            method, f"{engine}{path}", headers={k: v[0] for k, v in headers.items()}, content=body
        )
        done = time.perf_counter()
        client.close()
        marks.append((start, done - start, done - sent))
        if len(marks) == 1:
            time.sleep(2)  # the test's TEST_HTTPX_TIMEOUT + 1
            return http_proxy.Response(body=None, headers={}, status_code=418)
        return http_proxy.Response(
            body=resp.content, headers=dict(resp.headers), status_code=resp.status_code
        )

    proxy = http_proxy.Proxy(on_request)
    proxy.start()
    try:
        client = inngest.Inngest(
            event_api_base_url=proxy.origin,
            app_id="send-retry-timing",
            is_production=False,
            request_timeout=1000,
        )
        events = [inngest.Event(name="send-retry-timing"), inngest.Event(name="send-retry-timing")]
        if is_sync:
            client.send_sync(events)
        else:
            asyncio.run(client.send(events))
    finally:
        proxy.stop()
    first = marks[0][0]
    return (
        len(marks),
        [round((m[0] - first) * 1000) for m in marks],
        [round(m[1] * 1000, 1) for m in marks],
        [round(m[2] * 1000, 1) for m in marks],
    )


def main() -> None:
    engine = sys.argv[1].rstrip("/")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    rows = [send_once(engine, i % 2 == 0) for i in range(n)]
    for attempts, arrivals, forwards, server in rows:
        print(f"attempts={attempts} arrivals_ms={arrivals} forward_ms={forwards} server_ms={server}")
    forwards = [f for row in rows for f in row[2]]
    server = [s for row in rows for s in row[3]]
    print(
        f"third attempts: {sum(row[0] > 2 for row in rows)} of {n}; "
        f"forward median {statistics.median(forwards):.1f} ms, max {max(forwards):.1f}; "
        f"server round trip median {statistics.median(server):.1f} ms, max {max(server):.1f}"
    )


if __name__ == "__main__":
    main()
