"""BackgroundServer: one ASGI app under uvicorn in a daemon thread on 127.0.0.1.

The tests and the notebooks both start servers with this class, so pytest and nbval
exercise the same start and stop code.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import uvicorn

from learninngest.serving.limits import ServerLimits, uvicorn_config
from learninngest.serving.ports import free_port, port_in_use

__all__ = ["BackgroundServer", "ServerStartError", "free_port", "port_in_use"]


class _ThreadServer(uvicorn.Server):
    # Signal handlers can only be installed in the main thread; the owner stops us instead.
    def install_signal_handlers(self) -> None:
        return None


class ServerStartError(RuntimeError):
    """The server did not come up; the message says which one and why."""


class BackgroundServer:
    """Run `app` on 127.0.0.1:`port` (0 = a free port) in a daemon thread.

    It runs with `limits` (serving/limits.py; the defaults when None): slow or unfinished
    requests are cut off and the number of connections is bounded.
    """

    def __init__(
        self,
        app: Any,
        *,
        name: str = "server",
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        limits: ServerLimits | None = None,
        protocol: str | None = None,
        root_path: str = "",
    ) -> None:
        self.app = app
        self.root_path = root_path  # uvicorn's --root-path: the app is served under this prefix
        self.protocol = protocol  # "httptools" or "h11"; None: httptools when installed
        self.name = name
        self.host = host
        self.port = port or free_port(host)
        self._log_level = log_level
        self.limits = limits or ServerLimits()
        self._server: _ThreadServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 20.0) -> BackgroundServer:
        if self.running:
            return self
        if port_in_use(self.port, self.host):
            raise ServerStartError(f"{self.name}: port {self.port} on {self.host} is already in use")
        config = uvicorn_config(
            self.app,
            host=self.host,
            port=self.port,
            limits=self.limits,
            protocol=self.protocol,
            log_level=self._log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=3,
            root_path=self.root_path,
        )
        self._server = _ThreadServer(config)
        self._thread = threading.Thread(target=self._server.run, name=f"{self.name}:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise ServerStartError(f"{self.name}: uvicorn stopped while starting on {self.url}")
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(f"{self.name}: not ready on {self.url} after {timeout:.0f}s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                # A request that never ends (a hung handler) must not keep the port.
                self._server.force_exit = True
                self._thread.join(timeout)
        self._thread = None
        self._server = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<BackgroundServer {self.name} {self.url} {state}>"
