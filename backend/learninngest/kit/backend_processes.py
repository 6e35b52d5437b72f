"""BackendProcesses: the backend served by N processes on one port (`learninngest up --workers N`).

Each process is `python -m learninngest.kit.backend_child` (see there for its side). It
builds its own app and uvicorn server, with the kit's server limits, from the settings the
parent sends it, exactly as `learninngest serve` does. uvicorn's own `--workers` is not
used: it starts its children with multiprocessing and pickles the config, and neither the
kit's h11 protocol subclass (server_limits.py builds it in a closure, per settings) nor an
app built from a Settings object travels that way; it would need an import string and
settings re-read from the environment.

The port: the parent binds it, so a port in use is reported once, before any child starts.
On Linux it binds one socket per child with SO_REUSEPORT, and the kernel spreads new
connections evenly over them (with one shared socket, whichever process wakes first takes
a whole burst of connections, often the same one, and keep-alive clients such as the engine
then stay with it). Elsewhere one socket is shared by all. The parent then closes its
copies, so a connection is only ever queued on a socket that a live child serves.

The sync gate: the parent syncs the app once, through the shared port (whichever child
answers the PUT registers the functions, the same in every child), then tells every child
`open` over its control socket. A child whose parent goes away reads end of file there and
stops, so no child outlives `learninngest up`.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from pydantic import SecretStr

if TYPE_CHECKING:
    from learninngest.config import Settings

log = logging.getLogger("learninngest.kit")

CHILD_MODULE = "learninngest.kit.backend_child"
BACKLOG = 2048


class BackendProcessError(RuntimeError):
    """A backend process did not start or stopped; the message says which and what to do."""


@dataclass
class _Child:
    index: int
    proc: subprocess.Popen[bytes]
    control: socket.socket
    lines: BinaryIO


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets on host:port with SO_REUSEPORT (Linux), else one shared socket."""
    per_child = count if sys.platform.startswith("linux") else 1
    sockets: list[socket.socket] = []
    try:
        for _ in range(per_child):
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if per_child > 1:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(BACKLOG)
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def settings_payload(settings: Settings, index: int) -> dict[str, Any]:
    """Every setting's value (secrets in clear: it goes over a local socket pair, not argv/env)."""
    values = {name: getattr(settings, name) for name in type(settings).model_fields}
    values = {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in values.items()}
    if index > 0:
        # One reconciler is enough: the store is shared, and N sweeps would ask Inngest N times.
        values["reconcile_interval_s"] = 0
    return values


class BackendProcesses:
    def __init__(self, settings: Settings, count: int) -> None:
        if sys.platform == "win32":
            raise BackendProcessError("several backend processes need Linux or macOS; use BACKEND_WORKERS=1")
        self.settings = settings
        self.count = count
        self.host = settings.host
        self.port = settings.port
        self._children: list[_Child] = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pids(self) -> list[int]:
        return [child.proc.pid for child in self._children]

    @property
    def running(self) -> bool:
        return bool(self._children) and all(child.proc.poll() is None for child in self._children)

    def start(self, timeout: float = 60.0) -> BackendProcesses:
        try:
            sockets = listening_sockets(self.host, self.port, self.count)
        except OSError as exc:
            raise BackendProcessError(f"backend: cannot listen on {self.host}:{self.port}: {exc}") from exc
        try:
            for index in range(self.count):
                self._children.append(self._spawn(index, sockets[index % len(sockets)]))
        except BaseException:
            self.stop()
            raise
        finally:
            for sock in sockets:
                sock.close()  # the children hold them now
        deadline = time.monotonic() + timeout
        try:
            for child in self._children:
                self._wait_ready(child, deadline)
        except BaseException:
            self.stop()
            raise
        log.info("backend: %d processes on %s (pids %s)", self.count, self.url, self.pids)
        return self

    def _spawn(self, index: int, listener: socket.socket) -> _Child:
        ours, theirs = socket.socketpair()
        cmd = [sys.executable, "-m", CHILD_MODULE, "--listen-fd", str(listener.fileno())]
        cmd += ["--control-fd", str(theirs.fileno())]
        try:
            # Output goes where ours goes (the terminal of `learninngest up`).
            proc = subprocess.Popen(cmd, pass_fds=(listener.fileno(), theirs.fileno()))
        finally:
            theirs.close()
        hello = {"index": index, "settings": settings_payload(self.settings, index)}
        ours.sendall(json.dumps(hello).encode() + b"\n")
        return _Child(index, proc, ours, ours.makefile("rb"))

    def _wait_ready(self, child: _Child, deadline: float) -> None:
        child.control.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            line = child.lines.readline()
        except TimeoutError:
            raise BackendProcessError(
                f"backend process {child.index + 1} did not start serving in time; see its output above"
            ) from None
        child.control.settimeout(None)
        if line.strip() != b"ready":
            try:
                code = child.proc.wait(10)
            except subprocess.TimeoutExpired:
                code = None
            raise BackendProcessError(
                f"backend process {child.index + 1} exited while starting (code {code}); see its output above"
            )

    def open_gates(self) -> None:
        """Tell every process the app is synced: POST /api/v1/chat is accepted from now on."""
        for child in self._children:
            try:
                child.control.sendall(b"open\n")
            except OSError as exc:
                raise BackendProcessError(f"backend process {child.index + 1} is gone ({exc})") from exc

    def wait(self, timeout: float | None = None) -> str | None:
        """Block until a process ends (a sentence saying which) or `timeout` seconds pass (None)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            for child in self._children:
                code = child.proc.poll()
                if code is not None:
                    return (
                        f"backend process {child.index + 1} of {self.count} (pid {child.proc.pid}) "
                        f"exited with code {code}"
                    )
            time.sleep(0.2)
        return None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to every process (each finishes its requests, up to 3 s), then kill the rest."""
        for child in self._children:
            if child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self._children:
            try:
                child.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("backend process %d did not stop in %gs: killed", child.index + 1, timeout)
                child.proc.kill()
                child.proc.wait(10)
            child.lines.close()
            child.control.close()
        self._children = []

    def __repr__(self) -> str:
        return f"<BackendProcesses {self.count} on {self.url} pids={self.pids}>"
