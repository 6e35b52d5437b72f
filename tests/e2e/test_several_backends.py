"""Several backends, one Inngest: production mode's topology with real processes.

Three `learninngest serve` processes (API keys, a shared rate limit, one shared store:
Redis or PostgreSQL) behind a round-robin balancer, and one `learninngest engine` that
calls the app through the balancer, so any backend runs any step. One backend is killed
(SIGKILL) while runs are in flight: every request still ends `done`, its result readable
from every surviving backend, and long-polls are woken by the store's pub/sub or NOTIFY
(their periodic re-read is set longer than the wait, so only a notification can wake them).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from learninngest.kit.servers import BackgroundServer, free_port
from tests.e2e.balancer import create_balancer
from tests.store.conftest import empty_postgres
from tests.support import wait_for

KEY = "e2e-client-key-0123456789"
REQUESTS = 12


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str], folder: Path, url: str) -> None:
        self.name, self.url = name, url
        self.log_path = folder / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "learninngest", *args], env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_healthy(self, path: str) -> None:
        def up() -> None:
            assert self.popen.poll() is None, f"{self.name} exited:\n{self.log_path.read_text()}"
            httpx.get(f"{self.url}{path}", timeout=2).raise_for_status()

        wait_for(up, timeout=60, interval=0.2)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.contextmanager
def topology(store_url: str, folder: Path) -> Iterator[tuple[list[Process], BackgroundServer, str]]:
    ports = [free_port() for _ in range(3)]
    engine_port = free_port()
    backends_urls = [f"http://127.0.0.1:{port}" for port in ports]
    processes: list[Process] = []
    balancer = BackgroundServer(create_balancer(backends_urls), name="balancer")
    try:
        balancer.start()
        base_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("INNGEST_", "RESULT_", "API_KEYS"))
        }
        for number, port in enumerate(ports, start=1):
            env = {
                **base_env,
                "PORT": str(port),
                "INNGEST_DEV": "1",
                "INNGEST_BASE_URL": f"http://127.0.0.1:{engine_port}",
                "RESULT_STORE_URL": store_url,
                "API_KEYS": f"e2e={KEY}",
                "RATE_LIMIT_REQUESTS": "10000",
                "RATE_LIMIT_WINDOW_S": "86400",
                "LONG_POLL_REREAD_S": "30",
                # Slow enough that runs are still in flight when a backend is killed.
                "OFFLINE_LATENCY_MEAN_MS": "1000",
                "OFFLINE_LATENCY_SPREAD_MS": "100",
            }
            process = Process(f"backend-{number}", ["serve"], env, folder, f"http://127.0.0.1:{port}")
            processes.append(process)
        for process in processes:
            process.wait_healthy("/healthz")
        engine = Process(
            "engine",
            [
                "engine",
                "-u",
                f"{balancer.url}/api/inngest",
                "--memory",
                "--port",
                str(engine_port),
                "--connect-gateway-port",
                "0",
            ]
            + ["--time-scale", "0.01"],
            base_env,
            folder,
            f"http://127.0.0.1:{engine_port}",
        )
        processes.append(engine)
        engine.wait_healthy("/health")
        yield processes[:3], balancer, engine.url
    finally:
        for process in processes:
            process.stop()
        balancer.stop()


# Four processes start, one is killed, then up to 2 x 25 s per request: on a loaded machine
# (load 5-10) this took longer than the 60 s default, with nothing wrong but the load.
@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_three_backends_one_engine_one_killed_mid_run(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store_url = request.getfixturevalue(f"{kind}_url")
    if kind == "redis":
        with redis.Redis.from_url(store_url) as client:
            client.flushdb()
    else:
        empty_postgres(store_url)
    auth = {"Authorization": f"Bearer {KEY}"}
    with (
        topology(store_url, tmp_path) as (backends, balancer, engine_url),
        httpx.Client(headers=auth, timeout=60) as http,
    ):
        first, second, doomed = backends

        def synced() -> None:
            apps = httpx.get(f"{engine_url}/v1/apps", timeout=10).json()["data"]["apps"]
            assert apps, "the engine has not synced the app through the balancer yet"

        wait_for(synced, timeout=60, interval=0.5)

        balancer_url = balancer.url
        request_ids = []
        for n in range(REQUESTS):
            accepted = http.post(f"{balancer_url}/api/v1/chat", json={"query": f"What is 2 + {n}?"})
            assert accepted.status_code == 202, accepted.text
            request_ids.append(accepted.json()["request_id"])
        doomed.kill()  # mid-run: its accepted requests and in-flight steps must not be lost
        served = balancer.app.state.served
        assert served[doomed.url] > 0, served  # it took its share of POSTs and engine calls
        states = [http.get(f"{first.url}/api/v1/chat/result/{rid}").json()["status"] for rid in request_ids]
        assert "pending" in states  # runs were still in flight when it died

        for request_id in request_ids:
            reply = http.get(f"{first.url}/api/v1/chat/result/{request_id}", params={"wait": 25})
            if reply.json()["status"] == "pending":  # a retry after the kill may take longer
                reply = http.get(f"{first.url}/api/v1/chat/result/{request_id}", params={"wait": 25})
            assert reply.json()["status"] == "done", (reply.json(), doomed.log_path.read_text()[-2000:])
            again = http.get(f"{second.url}/api/v1/chat/result/{request_id}")
            assert again.json()["content"] == reply.json()["content"]  # one store, read from both

        # The rate limit is one count across the replicas: each answer has one fewer left.
        remaining = [
            int(http.get(f"{base.url}/api/v1/chat/result/none").headers["RateLimit-Remaining"])
            for base in (first, second, first, second)
        ]
        assert remaining == sorted(remaining, reverse=True) and len(set(remaining)) == 4
