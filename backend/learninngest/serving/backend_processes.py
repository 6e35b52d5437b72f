"""BackendProcesses: the backend served by N processes on one port (`learninngest up --workers N`).

Each process is `python -m learninngest.serving.backend_child` (see there for its side). It
builds its own app and uvicorn server, with the kit's server limits, from the settings the
parent sends it, exactly as `learninngest serve` does. uvicorn's own `--workers` is not
used: it starts its children with multiprocessing and pickles the config, and neither the
kit's protocol subclass (serving/limits.py builds it in a closure, per settings) nor an
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

Long-polls: the engine may call any child for a run's steps, and the client's long-poll
may wait on another one. A child tells the parent `finished <id>` when it finished a
request, and a thread of the parent passes the line on to the others, which wake their
waiters for it at once (a SQLite store alone would make them wait for the next re-read).
"""

from __future__ import annotations

import contextlib
import json
import logging
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

if TYPE_CHECKING:
    from learninngest.config import Settings

log = logging.getLogger("learninngest.kit")

CHILD_MODULE = "learninngest.serving.backend_child"
BACKLOG = 2048


class BackendProcessError(RuntimeError):
    """A backend process did not start or stopped; the message says which and what to do."""


@dataclass
class _Child:
    index: int
    proc: subprocess.Popen[bytes]
    control: socket.socket
    _pending: bytes = b""
    _sending: threading.Lock = field(default_factory=threading.Lock)

    def send(self, line: bytes) -> None:
        with self._sending:  # the relay thread and the main thread both write
            self.control.sendall(line + b"\n")

    def receive(self) -> list[bytes] | None:
        """The complete lines that arrived (waits for some data); None at end of file."""
        data = self.control.recv(65536)
        if not data:
            return None
        *lines, self._pending = (self._pending + data).split(b"\n")
        return lines


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
        self._relaying: threading.Thread | None = None
        self._stopping = threading.Event()

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
        self._stopping.clear()
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
        self._relaying = threading.Thread(target=self._relay, name="backend-processes:relay", daemon=True)
        self._relaying.start()
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
        child = _Child(index, proc, ours)
        child.send(json.dumps({"index": index, "settings": settings_payload(self.settings, index)}).encode())
        return child

    def _wait_ready(self, child: _Child, deadline: float) -> None:
        lines: list[bytes] | None = []
        try:
            while lines == []:
                child.control.settimeout(max(0.1, deadline - time.monotonic()))
                lines = child.receive()
        except TimeoutError:
            raise BackendProcessError(
                f"backend process {child.index + 1} did not start serving in time; see its output above"
            ) from None
        finally:
            child.control.settimeout(None)
        if not lines or lines[0].strip() != b"ready":
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
                child.send(b"open")
            except OSError as exc:
                raise BackendProcessError(f"backend process {child.index + 1} is gone ({exc})") from exc

    def _relay(self) -> None:
        """Pass each child's `finished <id>` on to the other children, until stop()."""
        with selectors.DefaultSelector() as selector:
            for child in self._children:
                selector.register(child.control, selectors.EVENT_READ, child)
            while not self._stopping.is_set():
                for key, _ in selector.select(timeout=0.5):
                    sender: _Child = key.data
                    try:
                        lines = sender.receive()
                    except OSError:
                        lines = None
                    if lines is None:  # that child ended: wait() reports it
                        with contextlib.suppress(KeyError, ValueError):
                            selector.unregister(sender.control)
                        continue
                    for line in lines:
                        if line.startswith(b"finished "):
                            for other in self._children:
                                if other is not sender:
                                    with contextlib.suppress(OSError):  # ending: wait() reports it
                                        other.send(line)

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
        self._stopping.set()
        if self._relaying is not None:
            self._relaying.join(5)
            self._relaying = None
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
            child.control.close()
        self._children = []

    def __repr__(self) -> str:
        return f"<BackendProcesses {self.count} on {self.url} pids={self.pids}>"
