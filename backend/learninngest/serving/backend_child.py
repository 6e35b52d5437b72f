"""One backend process of `learninngest up --workers N` (started by serving/backend_processes.py).

Run as `python -m learninngest.serving.backend_child --listen-fd L --control-fd C`: it serves
the backend on the listening socket it inherited (the parent bound it, so the port is
checked once and every process serves the same one) and talks to its parent over a
socket pair, one line at a time:

- parent → child, first: `{"index": i, "settings": {...}}` (JSON), its settings;
- child → parent: `ready` once uvicorn serves;
- parent → child: `open` once the parent synced the app: the sync gate opens (until then
  POST /api/v1/chat answers 503, as with one process);
- both ways: `finished <request_id>` when a process finished a request (its worker or its
  reconciler): the parent passes it on to every other child, which wakes its long-polls
  and streams waiting for that request at once (api/waiters.py), whatever the store
  (a SQLite file would otherwise be re-read only every LONG_POLL_REREAD_S);
- end of file, either way: the parent is gone or stopping, so the child stops too (no
  orphan keeps the port if the parent is killed).

SIGTERM stops it gracefully; SIGINT (Ctrl-C, sent to the whole terminal's process group)
is ignored: the parent decides when its children stop, and stops them with SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, BinaryIO

import uvicorn

STARTUP_FAILURE = 3


class _ChildServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn's own would also take SIGINT and re-raise the signal after shutdown; here a
        # stop by SIGTERM is a normal end (exit 0), and Ctrl-C is the parent's business.
        previous = {
            signal.SIGTERM: signal.signal(signal.SIGTERM, self.handle_exit),
            signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.should_exit:
            self.force_exit = True  # a second SIGTERM: do not wait for open connections
        self.should_exit = True


class _Parent:
    """This child's end of the control socket: lines in (a thread), lines out (any thread)."""

    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=fd)
        self.lines: BinaryIO = self.sock.makefile("rb")
        self._sending = threading.Lock()

    def send(self, line: str) -> None:
        with self._sending, contextlib.suppress(OSError):  # the parent is gone: we stop anyway
            self.sock.sendall(line.encode() + b"\n")

    def tell_finished(self, request_id: str) -> None:
        self.send(f"finished {request_id}")

    def follow(self, server: _ChildServer, app: Any) -> None:
        """Say `ready` once serving; open the gate, wake long-polls; stop at end of file."""
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.01)
        self.send("ready")
        with contextlib.suppress(OSError):
            for raw in self.lines:
                word, _, arg = raw.decode().strip().partition(" ")
                if word == "open":
                    app.state.sync_gate.open()
                elif word == "finished" and arg:
                    app.state.waiters.notify_here(arg)
        server.should_exit = True  # the parent closed its end (stopping) or died


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="learninngest.serving.backend_child", description=__doc__)
    parser.add_argument("--listen-fd", type=int, required=True)
    parser.add_argument("--control-fd", type=int, required=True)
    args = parser.parse_args(argv)
    # Until uvicorn takes over, Ctrl-C in the terminal must not kill a half-started child.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    from learninngest.app import create_app
    from learninngest.config import Settings
    from learninngest.serving import gc_freeze
    from learninngest.serving.limits import ServerLimits, uvicorn_config

    parent = _Parent(args.control_fd)
    hello = parent.lines.readline()
    if not hello:
        return STARTUP_FAILURE  # the parent went away before telling us anything
    settings = Settings(**json.loads(hello)["settings"])
    listener = socket.socket(fileno=args.listen_fd)
    app = create_app(settings, wait_for_sync=True)
    app.state.waiters.relay = parent.tell_finished  # a finish here wakes the siblings' waiters
    config = uvicorn_config(
        app,
        host=settings.host,
        port=settings.port,
        limits=ServerLimits.from_settings(settings),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=3,
    )
    server = _ChildServer(config)
    gc_freeze.enable()  # a server process from here on (gc_freeze.py)
    threading.Thread(target=parent.follow, args=(server, app), name="parent", daemon=True).start()
    server.run(sockets=[listener])
    return 0 if server.started else STARTUP_FAILURE


if __name__ == "__main__":
    sys.exit(main())
