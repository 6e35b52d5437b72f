"""`learninngest engine` and `learninngest serve` as real subprocesses, for tests that kill or freeze them.

kill -9 and SIGSTOP need a process of their own: an in-process server cannot be
frozen without freezing the test. Each process logs to a file in the test's folder
(shown when it fails to start) and is killed at the end of the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from learninngest.kit.servers import free_port


class Process:
    def __init__(self, name: str, args: list[str], cwd: Path, env: dict[str, str], port: int) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = cwd / f"{name}-{port}-{time.monotonic_ns()}.log"
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "learninngest", *args],
                cwd=cwd,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, path: str, timeout: float = 90.0) -> Process:
        deadline = time.monotonic() + timeout
        while True:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; its log:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}{path}", timeout=1).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready on {self.url}; log:\n{self.log_path.read_text()}")
            time.sleep(0.05)

    def signal(self, sig: signal.Signals) -> None:
        self.popen.send_signal(sig)

    def kill9(self) -> None:
        """kill -9: no shutdown code runs, as in a crash or an OOM kill."""
        self.popen.kill()
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGCONT)  # a frozen process cannot die of SIGTERM
            self.popen.kill()
            self.popen.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class Processes:
    """Starts engines and backends in `folder`; stops every one of them at the end of the test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[Process] = []

    def engine(self, port: int, app_url: str | None = None, db: Path | None = None) -> Process:
        # The connect gateway on --port only: port + 1 may be taken by another test.
        args = ["engine", "--port", str(port), "--connect-gateway-port", "0", "--time-scale", "0.01"]
        args += ["--db", str(db)] if db else ["--memory"]
        args += ["-u", app_url] if app_url else []
        return self._start(Process("engine", args, self.folder, {}, port), "/health")

    def backend(self, port: int, engine_port: int, store: Path, **env: object) -> Process:
        settings = {
            "INNGEST_BASE_URL": f"http://127.0.0.1:{engine_port}",
            "RESULT_STORE_URL": f"sqlite:///{store}",
            **{name.upper(): str(value) for name, value in env.items()},
        }
        process = Process("backend", ["serve", "--port", str(port)], self.folder, settings, port)
        return self._start(process, "/healthz")

    def _start(self, process: Process, ready_path: str) -> Process:
        self.started.append(process)
        return process.wait_ready(ready_path)

    def stop_all(self) -> None:
        for process in self.started:
            process.stop()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


__all__ = ["Process", "Processes", "free_port", "processes"]
